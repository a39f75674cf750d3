using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Xml.Linq;
using MedSeg.Engine.Losses;
using MedSeg.Engine.Metrics;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using TorchSharp;
using static TorchSharp.torch;

namespace MedSeg.Web.Tests.Engine;

/// <summary>
/// TorchSharp's implicit conversions from a C# number to <c>Scalar</c> create a native object that nothing keeps
/// alive: the callee reads its <c>IntPtr</c> handle, and the GC may finalize (delete) the Scalar while native code still
/// reads it (docs/training.md, "Native objects and the GC"). The engine therefore passes explicit Scalars only.
/// </summary>
public sealed class ScalarLifetimeTests
{
    private static readonly string Root = FindRoot();

    /// <summary>
    /// The crash of issue 8 (masked_fill in LossInputs.Soft during validation) within seconds: a thread collects garbage and
    /// runs finalizers without pause while losses and metrics run on a 2-megapixel batch, whose out-of-place masked_fill
    /// clones the target for milliseconds before it reads its fill value. With the implicit <c>masked_fill(mask, 0)</c>
    /// most calls failed with "Expected false to be true ... toFloat at c10/core/Scalar.h:140".
    /// </summary>
    [Fact]
    public void LossesAndMetricsSurviveGarbageCollectionDuringNativeCalls()
    {
        using var generator = new Generator(8);
        using var half = 0.5.ToScalar();
        using var zero = 0.ToScalar();
        using var logits = randn([2, 1, 1024, 1024], generator: generator);
        using var target = rand([2, 1, 1024, 1024], generator: generator).gt(half).to_type(ScalarType.Float32);
        using var dice = new DiceLoss(LossMode.Binary, ignoreIndex: 255);
        using var focal = new FocalLoss(LossMode.Binary, ignoreIndex: 255);
        (float Dice, float Focal, ConfusionCounts Counts) Run(Tensor logits, Tensor target)
        {
            using var scope = NewDisposeScope();
            return (dice.call(logits, target).item<float>(), focal.call(logits, target).item<float>(), ConfusionCounts.From(logits.gt(zero), target));
        }
        // Optimised code (tier 1) keeps nothing alive past its last use; warm up on a small batch so the loop runs it.
        using (var small = logits[.., .., ..8, ..8].contiguous())
        using (var smallTarget = target[.., .., ..8, ..8].contiguous())
            for (var i = 0; i < 200; i++) Run(small, smallTarget);
        Thread.Sleep(500);
        var expected = Run(logits, target);
        var stop = false;
        var collector = new Thread(() => { while (!Volatile.Read(ref stop)) { GC.Collect(); GC.WaitForPendingFinalizers(); } }) { IsBackground = true };
        collector.Start();
        var failures = new List<string>();
        var runs = 0;
        try
        {
            for (var clock = Stopwatch.StartNew(); clock.Elapsed < TimeSpan.FromSeconds(4); runs++)
            {
                try
                {
                    var got = Run(logits, target);
                    if (got != expected) failures.Add($"run {runs}: {got} instead of {expected}");
                }
                catch (ExternalException e) { failures.Add($"run {runs}: {string.Join(" ", e.Message.Split('\n').Where(l => l.StartsWith("Exception raised from") || l.Contains("THS")).Select(l => l.Trim()))}"); }
            }
        }
        finally
        {
            Volatile.Write(ref stop, true);
            collector.Join();
        }
        Assert.True(failures.Count == 0, $"{failures.Count} of {runs} runs failed:\n" + string.Join("\n", failures.Take(5)));
    }

    [Fact]
    public void EngineAndCliPassNoImplicitlyConvertedScalars()
    {
        var engine = Compile("MedSeg.Engine", Path.Combine(Root, "MedSeg.Engine"), OutputKind.DynamicallyLinkedLibrary, references: []);
        var cli = Compile("medseg", Path.Combine(Root, "MedSeg.Cli"), OutputKind.ConsoleApplication, references: [engine.ToMetadataReference()]);
        var found = ImplicitNativeConversions(engine).Concat(ImplicitNativeConversions(cli)).ToList();
        Assert.True(found.Count == 0,
            $"{found.Count} implicit conversions to a TorchSharp Scalar or Tensor; pass an explicit Scalar that outlives " +
            "the call (Scalars.Zero, or using var s = value.ToScalar()):\n" + string.Join("\n", found));
    }

    private static IEnumerable<string> ImplicitNativeConversions(CSharpCompilation compilation)
    {
        var scalar = compilation.GetTypeByMetadataName("TorchSharp.Scalar");
        var tensor = compilation.GetTypeByMetadataName("TorchSharp.torch+Tensor");
        Assert.NotNull(scalar);
        Assert.NotNull(tensor);
        foreach (var tree in compilation.SyntaxTrees)
        {
            var model = compilation.GetSemanticModel(tree);
            foreach (var node in tree.GetRoot().DescendantNodes().OfType<ExpressionSyntax>())
            {
                if (node is InvocationExpressionSyntax or BinaryExpressionSyntax or AssignmentExpressionSyntax &&
                    model.GetSymbolInfo(node).Symbol is IMethodSymbol called && MakesItsOwnScalar(called, tensor))
                {
                    yield return $"{Where(tree, node)}: {node} (calls {called.ToDisplayString()})";
                    continue;
                }
                var conversion = model.GetConversion(node);
                if (!conversion.IsUserDefined || !conversion.IsImplicit) continue;
                var target = conversion.MethodSymbol?.ContainingType;
                if (!SymbolEqualityComparer.Default.Equals(target, scalar) && !SymbolEqualityComparer.Default.Equals(target, tensor)) continue;
                var from = model.GetTypeInfo(node).Type;
                if (node.Parent is MemberAccessExpressionSyntax access && access.Name == node) continue; // reported as the whole access
                yield return $"{Where(tree, node)}: {node} ({from?.ToDisplayString()} → {target!.Name})";
            }
        }
    }

    /// <summary>
    /// TorchSharp members that create a Scalar of their own and let it die inside the call, found by this test's conversion
    /// check run over TorchSharp 0.107's source: Tensor's operators with a C# number operand (<c>x * 0.5</c>, <c>1.0 - x</c>),
    /// and the overloads that supply a default (<c>add(other)</c> is <c>add(other, 1)</c>, so <c>a + b</c> on two tensors
    /// is one too; <c>square()</c> is <c>pow(2)</c>; <c>arange(stop)</c> is <c>arange(0, stop, 1)</c>).
    /// </summary>
    private static bool MakesItsOwnScalar(IMethodSymbol method, INamedTypeSymbol tensor)
    {
        method = method.OriginalDefinition;
        if (method.MethodKind == MethodKind.UserDefinedOperator && SymbolEqualityComparer.Default.Equals(method.ContainingType, tensor) &&
            method.Parameters.Any(p => p.Type.SpecialType != SpecialType.None))
            return true;
        return method.GetDocumentationCommentId() is { } id && DefaultScalarMembers.Contains(id);
    }

    private const string T = "TorchSharp.torch.Tensor", S = "TorchSharp.Scalar";

    private static readonly HashSet<string> DefaultScalarMembers =
    [
        $"M:{T}.add({T})", $"M:{T}.add({S})", $"M:{T}.add_({T})", $"M:{T}.add_({S})",
        $"M:TorchSharp.torch.add({T},{T})", $"M:TorchSharp.torch.add({T},{S})", $"M:TorchSharp.torch.add_({T},{T})", $"M:TorchSharp.torch.add_({T},{S})",
        $"M:{T}.op_Addition({T},{T})", $"M:{T}.op_Addition({T},{S})", $"M:{T}.op_Addition({S},{T})", $"M:{T}.op_Subtraction({S},{T})",
        $"M:{T}.addcdiv({T},{T})", $"M:{T}.addcdiv_({T},{T})", $"M:{T}.square", $"M:TorchSharp.torch.square({T})",
        $"M:TorchSharp.torch.arange({S},System.Nullable{{TorchSharp.torch.ScalarType}},TorchSharp.torch.Device,System.Boolean)",
        $"M:TorchSharp.torch.arange({S},{S},System.Nullable{{TorchSharp.torch.ScalarType}},TorchSharp.torch.Device,System.Boolean)",
        $"M:{T}.elu(System.Double)", $"M:{T}.elu_(System.Double)", $"M:{T}.celu", $"M:{T}.celu_", $"M:{T}.softplus(System.Double,System.Double)",
    ];

    private static string Where(SyntaxTree tree, SyntaxNode node) =>
        $"{Path.GetRelativePath(Root, tree.FilePath)}:{node.GetLocation().GetLineSpan().StartLinePosition.Line + 1}";

    /// <summary>One project's sources with the SDK's implicit usings, against the test's own (framework, TorchSharp, ...) assemblies.</summary>
    private static CSharpCompilation Compile(string assemblyName, string projectDir, OutputKind kind, IEnumerable<MetadataReference> references)
    {
        var parse = new CSharpParseOptions(LanguageVersion.Latest);
        var files = Directory.EnumerateFiles(projectDir, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") &&
                        !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"));
        var usings = new[] { "System", "System.Collections.Generic", "System.IO", "System.Linq", "System.Net.Http", "System.Threading", "System.Threading.Tasks" }
            .Concat(XDocument.Load(Directory.GetFiles(projectDir, "*.csproj").Single()).Descendants("Using").Select(u => (string)u.Attribute("Include")!));
        var trees = files.Select(f => CSharpSyntaxTree.ParseText(File.ReadAllText(f), parse, f))
            .Append(CSharpSyntaxTree.ParseText(string.Concat(usings.Select(u => $"global using global::{u};\n")), parse, "GlobalUsings.g.cs"))
            .ToList();
        var platform = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => !Path.GetFileName(p).StartsWith("MedSeg.", StringComparison.Ordinal))
            // The web's API reference package declares a namespace Scalar, which would shadow TorchSharp's Scalar type; the
            // engine and the CLI do not reference it.
            .Where(p => !Path.GetFileName(p).StartsWith("Scalar.", StringComparison.Ordinal))
            .Select(p => MetadataReference.CreateFromFile(p));
        var compilation = CSharpCompilation.Create(assemblyName, trees, platform.Concat(references),
            new CSharpCompilationOptions(kind, nullableContextOptions: NullableContextOptions.Enable, allowUnsafe: true));
        // A compilation that does not bind would find nothing; CS8795 is a [GeneratedRegex] without its source generator.
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error && d.Id != "CS8795").Take(10).ToList();
        Assert.True(errors.Count == 0, $"{assemblyName} does not compile here:\n" + string.Join("\n", errors));
        return compilation;
    }

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "MedSeg.sln"))) dir = dir.Parent;
        Assert.NotNull(dir);
        return dir.FullName;
    }
}
