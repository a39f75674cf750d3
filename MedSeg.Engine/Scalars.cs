using TorchSharp;
using static TorchSharp.torch;

namespace MedSeg.Engine;

/// <summary>
/// Scalars that outlive the native call they are passed to. A TorchSharp <see cref="Scalar"/> is a native
/// <c>c10::Scalar</c> behind an <c>IntPtr</c> with a finalizer that deletes it; <c>masked_fill(mask, value)</c> and every
/// other call hands native code <c>value.Handle</c> and keeps no reference to the managed object. A Scalar made by an
/// implicit conversion (<c>t.masked_fill(m, 0)</c>, <c>x * 0.5</c>, <c>clamp_min(1e-7)</c>) is therefore garbage as soon
/// as its handle is read, and a GC on another thread can finalize it while libtorch still reads it: "Expected false to be
/// true ... toFloat at c10/core/Scalar.h:140" (issue 8). TorchSharp's own <c>a + b</c>, <c>add(b)</c> and
/// <c>value - x</c> make such a temporary too (the alpha 1 of <c>add(b, 1)</c>).
/// <para>So the engine passes explicit Scalars only: these shared constants (static, hence never finalized; a
/// <c>c10::Scalar</c> is immutable and only read by native code, so sharing one across threads is safe; never dispose
/// them), or <c>using var s = value.ToScalar();</c> for a value known at run time, which keeps it alive until the end of
/// its scope. <c>ScalarLifetimeTests</c> checks the engine and the CLI for the implicit forms.</para>
/// <para>Each constant has the C# type of the literal it replaces (an <c>int</c> 0 stays integral, a <c>1.0</c> stays
/// floating), so type promotion and results are exactly those of the implicit form.</para>
/// </summary>
public static class Scalars
{
    /// <summary><c>0</c> (int).</summary>
    public static readonly Scalar Zero = 0.ToScalar();

    /// <summary><c>1</c> (int): also TorchSharp's default alpha of <c>add</c>.</summary>
    public static readonly Scalar One = 1.ToScalar();

    /// <summary><c>1.0</c> (double).</summary>
    public static readonly Scalar OneDouble = 1.0.ToScalar();

    /// <summary><c>2.0</c> (double).</summary>
    public static readonly Scalar TwoDouble = 2.0.ToScalar();

    /// <summary><c>a + b</c> as TorchSharp's operator computes it (<c>a.add(b, 1)</c>), with the alpha kept alive.</summary>
    public static Tensor Plus(this Tensor a, Tensor b) => a.add(b, One);

    /// <summary><c>a + b</c> for a Scalar <paramref name="b"/>, as TorchSharp's operator computes it.</summary>
    public static Tensor Plus(this Tensor a, Scalar b) => a.add(b, One);

    /// <summary><c>a.add_(b)</c> in place, with the alpha kept alive.</summary>
    public static Tensor PlusInPlace(this Tensor a, Tensor b) => a.add_(b, One);

    /// <summary><c>value − x</c> as TorchSharp's operator computes it (<c>x.negative().add(value)</c>).</summary>
    public static Tensor Minus(this Scalar value, Tensor x)
    {
        using var negative = x.negative();
        return negative.add(value, One);
    }
}
