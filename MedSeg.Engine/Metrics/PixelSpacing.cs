namespace MedSeg.Engine.Metrics;

/// <summary>Physical size of one pixel in millimetres along rows (<see cref="Y"/>) and columns (<see cref="X"/>); may be anisotropic.</summary>
public readonly record struct PixelSpacing
{
    public PixelSpacing(double y, double x)
    {
        if (!(y > 0) || !(x > 0) || double.IsInfinity(y) || double.IsInfinity(x))
            throw new ArgumentOutOfRangeException(nameof(y), $"Pixel spacing must be finite and positive, got (y {y}, x {x}).");
        Y = y;
        X = x;
    }

    public double Y { get; }
    public double X { get; }

    /// <summary>1 × 1: distances are in pixels.</summary>
    public static PixelSpacing Unit => new(1, 1);

    public static PixelSpacing Isotropic(double mm) => new(mm, mm);

    public override string ToString() => $"({Y}, {X}) mm";
}
