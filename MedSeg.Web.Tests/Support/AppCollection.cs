namespace MedSeg.Web.Tests.Support;

/// <summary>Tests that host the whole app (training jobs included) run one class at a time: 2 cores are enough for one.</summary>
[CollectionDefinition(Name)]
public sealed class AppCollection
{
    public const string Name = "app";
}
