using MedSeg.Web.Infrastructure;

namespace MedSeg.Web.Tests.Web;

/// <summary>Failure texts shown to users lose absolute server paths: inside the data folder relative, elsewhere a placeholder.</summary>
public sealed class ServerPathsTests
{
    private const string Root = "/srv/medseg/data";

    [Theory]
    [InlineData("IOException: Could not find file '/srv/medseg/data/experiments/ab12/run.json'.",
        "IOException: Could not find file 'experiments/ab12/run.json'.")]
    [InlineData("the checkpoint /srv/medseg/data/experiments/ab12/checkpoints/last.pt could not be written",
        "the checkpoint experiments/ab12/checkpoints/last.pt could not be written")]
    [InlineData("No space left in /srv/medseg/data.", "No space left in the data folder.")]
    [InlineData("libtorch: cannot open /opt/libtorch/lib/libtorch_cuda.so: no such file",
        "libtorch: cannot open (server path): no such file")]
    [InlineData("It stopped reading /var/tmp/upload.zip.", "It stopped reading (server path).")]
    [InlineData("Access to the path '/home/medseg/.aspnet/x' is denied.", "Access to the path '(server path)' is denied.")]
    [InlineData("File \"/usr/lib/python3/x.py\", line 3", "File \"(server path)\", line 3")]
    [InlineData(@"Could not find a part of the path 'C:\medseg\data2\x.png'.", "Could not find a part of the path '(server path)'.")]
    [InlineData(@"share \\fileserver\medseg\x is offline", "share (server path) is offline")]
    [InlineData("/srv/medseg/database/x.db is locked", "(server path) is locked")] // a sibling of the data folder, not inside it
    public void AbsolutePathsAreRedacted(string message, string expected) =>
        Assert.Equal(expected, ServerPaths.Redact(message, Root));

    [Theory]
    [InlineData("Training stopped at epoch 3/50 after 2 h; lower the batch size and/or the image size.")]
    [InlineData("See https://example.org/docs/limits for the limits.")]
    [InlineData("reached the memory ceiling of 4.0 GiB (resident 4.1 GiB); 1 MiB/s")]
    [InlineData("masks/case-1.png has no pair in images/")]
    public void TextWithoutServerPathsIsUnchanged(string message) =>
        Assert.Equal(message, ServerPaths.Redact(message, Root));

    [Fact]
    public void DataRootWithTrailingSeparatorAndNullMessagesWork()
    {
        Assert.Equal("experiments/x", ServerPaths.Redact("/srv/medseg/data/experiments/x", Root + "/"));
        Assert.Null(ServerPaths.Redact(null, Root));
        Assert.Equal("'(server path)'", ServerPaths.Redact("'/srv/medseg/data/x'", null));
    }
}
