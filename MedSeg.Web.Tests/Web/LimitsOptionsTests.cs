using MedSeg.Web.Infrastructure;
using Microsoft.Extensions.Configuration;

namespace MedSeg.Web.Tests.Web;

public sealed class LimitsOptionsTests
{
    private static IConfiguration Config(Dictionary<string, string?> values) => new ConfigurationBuilder().AddInMemoryCollection(values).Build();

    [Fact]
    public void DefaultsAreTheDocumentedOnes()
    {
        var limits = LimitsOptions.Read(Config([]));
        Assert.Equal(4L << 30, limits.UploadMaxBytes);
        Assert.Equal(1L << 20, limits.RequestMaxBytes);
        Assert.Equal(8192L * 8192, limits.MaxImagePixels);
        Assert.Equal(100_000, limits.MaxZipEntries);
        Assert.Equal(32L << 30, limits.MaxUnpackedBytes);
        Assert.Equal(10, limits.SignInPermitsPerMinute);
    }

    [Fact]
    public void TheOlderUploadKeyIsReadUnlessTheNewOneIsSet()
    {
        Assert.Equal(1000, LimitsOptions.Read(Config(new() { ["MedSeg:Upload:MaxBytes"] = "1000" })).UploadMaxBytes);
        Assert.Equal(2000, LimitsOptions.Read(Config(new() { ["MedSeg:Upload:MaxBytes"] = "1000", ["MedSeg:Limits:UploadMaxBytes"] = "2000" })).UploadMaxBytes);
    }

    [Fact]
    public void ANonPositiveLimitStopsStartUpNamingTheSetting()
    {
        var e = Assert.Throws<InvalidOperationException>(() => LimitsOptions.Read(Config(new() { ["MedSeg:Limits:MaxZipEntries"] = "0" })));
        Assert.Contains("MedSeg:Limits: MaxZipEntries", e.Message);
    }
}
