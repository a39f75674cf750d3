using MedSeg.Data.Files;

namespace MedSeg.Web.Tests.Data;

public sealed class ArtifactStoreTests
{
    [Theory]
    [InlineData("../secret.txt")]
    [InlineData("a/../../secret.txt")]
    [InlineData("/etc/passwd")]
    public void ResolveRefusesPathsLeavingTheFolder(string relative)
    {
        using var dir = new Support.TempDirectory();
        Assert.Throws<ArgumentException>(() => ArtifactStore.Resolve(dir.Path, relative));
    }

    [Fact]
    public void ResolveKeepsPathsInsideTheFolder()
    {
        using var dir = new Support.TempDirectory();
        Assert.Equal(Path.Combine(dir.Path, "images", "a (1).png"), ArtifactStore.Resolve(dir.Path, "images/a (1).png"));
    }
}
