namespace MedSeg.Web.Features.Shared;

/// <summary>One labelled point of a <see cref="ScatterChart"/> in data units, drawn in a CSS colour; <see cref="Href"/> makes it a link.</summary>
public sealed record ScatterPoint(string Label, double X, double Y, string Color, string? Href = null);
