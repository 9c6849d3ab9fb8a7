using K8sTraining.Training.Loop;
using K8sTraining.Training.Options;
using K8sTraining.Training.Resume;

namespace K8sTraining.Trainer.Tests.Unit.Resume;

[Trait("Category", "Unit")]
public sealed class ResumeChangesTests
{
    private static readonly string[] Base = ["--model", "cnn", "--dataset", "synthetic", "--samples", "2048", "--batch-size", "64", "--epochs", "3"];

    [Theory]
    // name, flag, value
    [InlineData("architecture: model", "--model", "mlp")]
    [InlineData("architecture: classes", "--num-classes", "12")]
    [InlineData("architecture: channels", "--in-channels", "3")]
    [InlineData("architecture: image size", "--image-size", "32")]
    [InlineData("architecture: stem", "--stem", "small")]
    [InlineData("data set identity", "--dataset", "fashion-mnist")]
    [InlineData("data: normalisation", "--normalize", "false")]
    [InlineData("data: limited mode", "--max-samples-per-class", "100")]
    [InlineData("data: validation split", "--val-fraction", "0.2")]
    [InlineData("seed", "--seed", "9")]
    [InlineData("optimizer kind", "--optimizer", "sgd")]
    [InlineData("frozen set", "--freeze", "fc")]
    [InlineData("accumulation groups", "--grad-accumulation-steps", "2")]
    [InlineData("ema", "--ema-decay", "0.9")]
    [InlineData("lr finder", "--lr", "auto")]
    public void Decide_Should_RefuseNamingTheField_When_TheSavedStateWouldMeanNothingUnderTheChange(string name, string flag, string value)
    {
        var decision = ResumeChanges.Decide(Request(Parse(), Parse(flag, value), reconfigure: true));

        Assert.True(decision.Refusal is not null, name);
        Assert.Equal(flag == "--lr" ? "--lr auto" : flag, decision.Refusal!.Flag);
        Assert.Contains("a resume cannot change it", decision.Refusal.Message("ckpt"), StringComparison.Ordinal);
        Assert.DoesNotContain("--reconfigure", decision.Refusal.Message("ckpt"), StringComparison.Ordinal);
        Assert.Empty(decision.Changes);
    }

    [Theory]
    // name, flag, value
    [InlineData("learning rate", "--lr", "0.01")]
    [InlineData("lr gamma", "--lr-gamma", "0.5")]
    [InlineData("scheduler", "--scheduler", "cosine")]
    [InlineData("warmup", "--warmup-steps", "10")]
    [InlineData("min lr", "--min-lr", "0.0001")]
    [InlineData("momentum", "--momentum", "0.8")]
    [InlineData("weight decay", "--weight-decay", "0.01")]
    [InlineData("clipping", "--grad-clip-norm", "1")]
    [InlineData("loss", "--loss", "focal")]
    [InlineData("class weights", "--class-weights", "auto")]
    [InlineData("augmentation", "--horizontal-flip", "true")]
    [InlineData("mixing", "--mixup-alpha", "0.2")]
    [InlineData("label smoothing", "--label-smoothing", "0.1")]
    public void Decide_Should_AskForReconfigure_When_ARecipeSettingChangesWithoutIt(string name, string flag, string value)
    {
        var decision = ResumeChanges.Decide(Request(Parse(), Parse(flag, value), reconfigure: false));

        Assert.True(decision.Refusal is not null, name);
        Assert.Equal(flag, decision.Refusal!.Flag);
        Assert.Contains("--reconfigure true", decision.Refusal.Message("ckpt"), StringComparison.Ordinal);
        Assert.StartsWith($"{flag}: '{value}' differs from", decision.Refusal.Message("ckpt"), StringComparison.Ordinal);
    }

    [Theory]
    // name, flag, value
    [InlineData("learning rate", "--lr", "0.01")]
    [InlineData("scheduler", "--scheduler", "cosine")]
    [InlineData("loss", "--loss", "focal")]
    public void Decide_Should_TakeAndRecordTheChange_When_ARecipeSettingChangesWithReconfigure(string name, string flag, string value)
    {
        var decision = ResumeChanges.Decide(Request(Parse(), Parse(flag, value), reconfigure: true));

        Assert.True(decision.Refusal is null, name);
        Assert.True(decision.RebuildsSchedule, name);
        Assert.Contains(decision.Changes, c => c.Field == flag && c.To == value && c.GlobalStep == 70 && c.SampleInEpoch == 448);
    }

    [Theory]
    // name, flag, value, the lineage's "to"
    [InlineData("batch size", "--batch-size", "32", "32")]
    [InlineData("more epochs", "--epochs", "5", "5")]
    [InlineData("more samples", "--samples", "4096", "4096")]
    public void Decide_Should_TakeAndRecordTheChange_When_AnAllowedSettingChangesWithoutReconfigure(string name, string flag, string value, string to)
    {
        var decision = ResumeChanges.Decide(Request(Parse(), Parse(flag, value), reconfigure: false));

        Assert.True(decision.Refusal is null, name);
        var change = Assert.Single(decision.Changes);
        Assert.Equal((flag, to, 70L, (int?)448), (change.Field, change.To, change.GlobalStep, change.SampleInEpoch));
    }

    [Fact]
    public void Decide_Should_ScaleTheLearningRateLinearly_When_TheBatchSizeChangesWithScaleLrWithBatch()
    {
        var decision = ResumeChanges.Decide(Request(Parse(), Parse("--batch-size", "256")) with { ScaleLrWithBatch = true, LearningRateScale = 0.5 });

        Assert.Equal(2.0, decision.LearningRateScale);
        Assert.Contains(decision.Changes, c => c.Field == ResumeChanges.ScaleField && c.From == "0.5" && c.To == "2");
    }

    [Fact]
    public void Decide_Should_KeepTheLearningRateScale_When_TheBatchSizeChangesWithoutScaleLrWithBatch()
    {
        var decision = ResumeChanges.Decide(Request(Parse(), Parse("--batch-size", "256")));

        Assert.Equal(1.0, decision.LearningRateScale);
        Assert.DoesNotContain(decision.Changes, c => c.Field == ResumeChanges.ScaleField);
    }

    [Theory]
    // name, epoch, step in epoch, requested epochs, refused
    [InlineData("fewer, still above what is done", 1, 0, 2, false)]
    [InlineData("fewer than the finished epochs", 3, 0, 2, true)]
    [InlineData("as many as done, mid-epoch", 2, 5, 2, true)]
    [InlineData("as many as done, at an epoch's end", 2, 0, 2, false)]
    public void Decide_Should_RefuseFewerEpochsThanTrained_When_EpochsShrink(string name, int epoch, int step, int epochs, bool refused)
    {
        var request = Request(Parse(), Parse("--epochs", epochs.ToString(System.Globalization.CultureInfo.InvariantCulture))) with { Epoch = epoch, StepInEpoch = step, SampleInEpoch = step * 64 };

        var decision = ResumeChanges.Decide(request);

        Assert.True(refused == decision.Refusal is not null, name);
        if (refused)
        {
            Assert.Equal("--epochs", decision.Refusal!.Flag);
        }
    }

    [Fact]
    public void Decide_Should_RecordNoEpochsChange_When_TheCheckpointPredatesTheField()
    {
        var decision = ResumeChanges.Decide(Request(Parse(), Parse("--epochs", "7")) with { SavedEpochs = null });

        Assert.Null(decision.Refusal);
        Assert.Empty(decision.Changes);
    }

    [Fact]
    public void Decide_Should_TakeMoreEpochsWithoutReconfigure_When_TheScheduleSpansTheRun()
    {
        var decision = ResumeChanges.Decide(Request(Parse("--scheduler", "cosine"), Parse("--scheduler", "cosine", "--epochs", "5")));

        Assert.Null(decision.Refusal);
        Assert.True(decision.RebuildsSchedule);
        Assert.Equal(("--epochs", "3", "5"), (decision.Changes[0].Field, decision.Changes[0].From, decision.Changes[0].To));
    }

    [Theory]
    // name, mid-epoch, requested samples, refused, epoch data set size after
    [InlineData("more, mid-epoch: the epoch finishes over the old samples", true, 4096, false, 2048)]
    [InlineData("more, at an epoch's end: from now", false, 4096, false, null)]
    [InlineData("fewer, at an epoch's end", false, 1024, false, null)]
    [InlineData("fewer, mid-epoch", true, 1024, true, null)]
    public void Decide_Should_TakeSamplesAtTheNextEpochBoundary_When_TheSampleCountChanges(string name, bool midEpoch, int samples, bool refused, int? epochDatasetSize)
    {
        var request = Request(Parse(), Parse("--samples", samples.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        request = midEpoch ? request : request with { StepInEpoch = 0, SampleInEpoch = 0 };

        var decision = ResumeChanges.Decide(request);

        Assert.True(refused == decision.Refusal is not null, name);
        if (!refused)
        {
            Assert.Equal(epochDatasetSize, decision.EpochDatasetSize);
        }
    }

    [Fact]
    public void Decide_Should_RefuseASampleChange_When_TheCheckpointHasASavedSplit()
    {
        var decision = ResumeChanges.Decide(Request(Parse("--val-fraction", "0.1"), Parse("--val-fraction", "0.1", "--samples", "4096")));

        Assert.Equal("--samples", decision.Refusal?.Flag);
    }

    [Fact]
    public void Decide_Should_ChangeNothing_When_TheFlagsAreTheCheckpoints()
    {
        var decision = ResumeChanges.Decide(Request(Parse("--scheduler", "cosine"), Parse("--scheduler", "cosine")));

        Assert.Equal((null, 0, false, 1.0), (decision.Refusal, decision.Changes.Count, decision.RebuildsSchedule, decision.LearningRateScale));
    }

    [Fact]
    public void Rules_Should_NameEveryFieldOfTheConfiguration_When_ItGrows()
    {
        var missing = TrainingConfiguration.FieldFlags.Where(f => ResumeChanges.Rules.All(r => r.Flag != f)).ToList();

        Assert.True(missing.Count == 0, $"fields without a resume rule (refused by default; decide and document them): {string.Join(", ", missing)}");
    }

    [Fact]
    public void Rules_Should_BeInTheTrainerReadme_When_Documented()
    {
        var readme = File.ReadAllText(Path.Combine(K8sTraining.TestSupport.RepositoryPaths.Root, "trainer", "README.md"));
        var section = readme[readme.IndexOf("## Resuming with changed parameters", StringComparison.Ordinal)..];

        var missing = ResumeChanges.Rules.Select(r => r.Flag.Split(',')[0]).Where(f => !section.Contains($"`{f}", StringComparison.Ordinal)).ToList();

        Assert.True(missing.Count == 0, $"rules the README's table does not name: {string.Join(", ", missing)}");
    }

    private static ResumeRequest Request(TrainerOptions saved, TrainerOptions requested, bool reconfigure = false) =>
        new(TrainingConfiguration.From(saved), TrainingConfiguration.From(requested), saved.Epochs, requested.Epochs, Epoch: 1, StepInEpoch: 7, SampleInEpoch: 448, GlobalStep: 70, Reconfigure: reconfigure);

    private static TrainerOptions Parse(params string[] args) => OptionsParser.Parse([.. Base, .. args], _ => null);
}
