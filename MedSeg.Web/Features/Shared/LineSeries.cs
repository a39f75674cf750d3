namespace MedSeg.Web.Features.Shared;

/// <summary>One line of a <see cref="LineChart"/>: points (x, y) in data units, drawn in a CSS colour.</summary>
public sealed record LineSeries(string Name, string Color, IReadOnlyList<(double X, double Y)> Points, bool Dashed = false);
