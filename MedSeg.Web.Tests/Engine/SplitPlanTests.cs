using MedSeg.Engine.Training;

namespace MedSeg.Web.Tests.Engine;

public sealed class SplitPlanTests
{
    private static IEnumerable<SplitCase> Patients(int patients, int slices) =>
        from p in Enumerable.Range(1, patients) from s in Enumerable.Range(0, slices) select new SplitCase($"patient{p:D2}_slice{s:D2}");

    [Fact]
    public void KFoldFoldsPartitionTheCasesOutsideTheTestSplit()
    {
        var cases = Patients(23, 3).ToList();
        var plan = SplitPlan.Plan(cases, new SplitSpec(SplitKind.KFold, Seed: 4, Folds: 5, GroupPattern: @"^(patient\d+)_", TestFraction: 0.2));
        Assert.Equal(5, plan.FoldCount);
        var validated = plan.Validation.SelectMany(f => f).ToList();
        // Every case is in exactly one place: the test split or one fold's validation set.
        Assert.Equal(cases.Count, validated.Count + plan.Test.Count);
        Assert.Equal(cases.Select(c => c.Name).Order(StringComparer.Ordinal), validated.Concat(plan.Test).Order(StringComparer.Ordinal));
        Assert.Equal(5 * 3, plan.Test.Count); // round(23 × 0.2) = 5 patients
        for (var k = 0; k < plan.FoldCount; k++)
        {
            var (train, validation) = plan.Fold(k);
            Assert.Empty(train.Intersect(validation));
            Assert.Empty(train.Intersect(plan.Test));
            Assert.Equal(cases.Count - plan.Test.Count, train.Count + validation.Count);
            // Folds of 18 patients over 5: 4 or 3 patients each.
            Assert.InRange(validation.Count, 3 * 3, 4 * 3);
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => plan.Fold(5));
    }

    [Fact]
    public void GroupedSplitKeepsEachPatientOnOneSideAndIsTheSameForTheSameSeed()
    {
        var spec = new SplitSpec(SplitKind.Grouped, Seed: 7, ValidationFraction: 0.25, GroupPattern: @"^(patient\d+)_");
        var plan = SplitPlan.Plan(Patients(12, 4), spec);
        var (train, validation) = plan.Fold(0);
        Assert.Equal(3 * 4, validation.Count);
        var patientsOf = (IEnumerable<string> names) => names.Select(n => n[..9]).ToHashSet();
        Assert.Empty(patientsOf(train).Intersect(patientsOf(validation)));
        Assert.Equal(validation, SplitPlan.Plan(Patients(12, 4).Reverse(), spec).Fold(0).Validation);
        Assert.NotEqual(validation, SplitPlan.Plan(Patients(12, 4), spec with { Seed = 8 }).Fold(0).Validation);
    }

    [Fact]
    public void SlicesOfOneVolumeStayTogetherEvenInARandomSplit()
    {
        var cases = Enumerable.Range(0, 10).SelectMany(v => Enumerable.Range(0, 5).Select(s => new SplitCase($"vol{v}_s{s}", $"vol{v}"))).ToList();
        var (train, validation) = SplitPlan.Plan(cases, new SplitSpec(SplitKind.Random, Seed: 3)).Fold(0);
        Assert.Equal(2 * 5, validation.Count);
        Assert.Empty(train.Select(n => n.Split('_')[0]).Intersect(validation.Select(n => n.Split('_')[0])));
    }

    [Fact]
    public void LeakageCheckRefusesAPatientInTwoSplitsNamingTheCases()
    {
        var groupOf = new Dictionary<string, string> { ["p1_a"] = "p1", ["p1_b"] = "p1", ["p2_a"] = "p2", ["p3_a"] = "p3" };
        var splitOf = new Dictionary<string, string> { ["p1_a"] = "train", ["p1_b"] = "validation", ["p2_a"] = "train", ["p3_a"] = "validation" };
        var problem = Assert.Single(SplitPlan.CheckLeakage(groupOf, splitOf));
        Assert.Equal("p1_a", problem.File);
        Assert.Contains("group 'p1' is in 2 splits", problem.Problem);
        Assert.Contains("train: p1_a", problem.Problem);
        Assert.Contains("validation: p1_b", problem.Problem);
        // A plan it made itself never leaks.
        var plan = SplitPlan.Plan(Patients(9, 3), new SplitSpec(SplitKind.KFold, Folds: 3, GroupPattern: @"^(patient\d+)_", TestFraction: 0.3));
        for (var k = 0; k < plan.FoldCount; k++)
        {
            var (train, validation) = plan.Fold(k);
            var sides = train.Select(n => (n, "train")).Concat(validation.Select(n => (n, "validation"))).Concat(plan.Test.Select(n => (n, "test")))
                .ToDictionary(x => x.n, x => x.Item2);
            Assert.Empty(SplitPlan.CheckLeakage(plan.GroupOf, sides));
        }
    }

    [Theory]
    [InlineData(SplitKind.KFold, 1, null, 0.0, "folds")]
    [InlineData(SplitKind.Grouped, 5, "([", 0.0, "groupPattern")]
    [InlineData(SplitKind.Random, 5, null, 1.0, "testFraction")]
    public void BadSpecsAreRefusedNamingTheField(SplitKind kind, int folds, string? pattern, double test, string field)
    {
        var spec = new SplitSpec(kind, Folds: folds, GroupPattern: pattern, TestFraction: test);
        Assert.StartsWith(field, spec.Check());
        Assert.Throws<ArgumentException>(() => SplitPlan.Plan(Patients(4, 2), spec));
    }

    [Fact]
    public void TooFewGroupsAndAGroupedSplitWithoutAKeyAreRefusedWithWhatToDo()
    {
        var few = Assert.Throws<ArgumentException>(() => SplitPlan.Plan(Patients(3, 4), new SplitSpec(SplitKind.KFold, Folds: 5, GroupPattern: @"^(patient\d+)_")));
        Assert.Contains("at least 5 groups", few.Message);
        var keyless = Assert.Throws<ArgumentException>(() => SplitPlan.Plan(Patients(3, 4), new SplitSpec(SplitKind.Grouped)));
        Assert.Contains("groupPattern", keyless.Message);
    }
}
