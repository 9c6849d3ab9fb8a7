using K8sTraining.Contract;
using K8sTraining.Training.Options;
using K8sTraining.Training.Stages;

namespace K8sTraining.Trainer.Tests.Unit.Stages;

[Trait("Category", "Unit")]
public sealed class StageJsonTests
{
    private const string Curriculum = """
        [{"name":"small","epochs":2,"imageSize":16,"dataFraction":0.5,"batchSize":32,"lrScale":2},
         {"name":"medium","epochs":1,"imageSize":24,"dataFraction":0.75,"schedule":{"type":"cosine","minLearningRate":0.0001},"freeze":["conv1"]},
         {"name":"full","epochs":3,"mixup":false,"initFrom":"best-of-previous","learningRate":0.01,"maxDurationSeconds":600}]
        """;

    [Fact]
    public void Parse_Should_ReadEveryField_When_TheCurriculumIsValid()
    {
        var stages = StageJson.Parse(Curriculum, "--stages", ScheduleScopeNames.Stage);

        Assert.Equal(["small", "medium", "full"], stages.Select(s => s.Name));
        Assert.Equal((2, 16, 0.5, 32, 2.0), (stages[0].Epochs, stages[0].ImageSize, stages[0].DataFraction, stages[0].BatchSize, stages[0].LrScale));
        Assert.Equal((SchedulerNames.Cosine, 0.0001), (stages[1].Schedule!.Type, stages[1].Schedule!.MinLearningRate));
        Assert.Equal(["conv1"], stages[1].Freeze!);
        Assert.Equal(StageInitFromNames.Previous, stages[1].InitFrom);
        Assert.Equal((false, StageInitFromNames.BestOfPrevious, 0.01, 600), (stages[2].Mixup, stages[2].InitFrom, stages[2].LearningRate, stages[2].MaxDurationSeconds));
    }

    [Theory]
    [InlineData("not json", "--stages: 'not json' is not allowed; allowed: a JSON array of stages")]
    [InlineData("[]", "--stages: '[]' is not allowed; allowed: a non-empty JSON array")]
    [InlineData("""[{"name":"a","epochs":1,"lr":0.1}]""", "--stages: stages[0].lr: unknown field; allowed: name, epochs, batchSize")]
    [InlineData("""[{"epochs":1}]""", "--stages: stages[0].name: required")]
    [InlineData("""[{"name":"Warm_Up","epochs":1}]""", "--stages: stages[0].name: 'Warm_Up' is not allowed; allowed: a DNS label")]
    [InlineData("""[{"name":"a","epochs":1},{"name":"a","epochs":1}]""", "--stages: stages[1].name: 'a' is already the name of stages[0]")]
    [InlineData("""[{"name":"a","epochs":0}]""", "--stages: stages[0].epochs: 0 is not allowed; allowed: an integer from 1")]
    [InlineData("""[{"name":"a"}]""", "--stages: stages[0].epochs: required")]
    [InlineData("""[{"name":"a","epochs":1,"dataFraction":0}]""", "--stages: stages[0].dataFraction: 0 is not allowed; allowed: a number greater than 0 and at most 1")]
    [InlineData("""[{"name":"a","epochs":1,"dataFraction":1.5}]""", "--stages: stages[0].dataFraction: 1.5 is not allowed")]
    [InlineData("""[{"name":"a","epochs":1,"dataFraction":0.75},{"name":"b","epochs":1,"dataFraction":0.5}]""", "--stages: stages[1].dataFraction: 0.5 is smaller than the previous stage's 0.75")]
    [InlineData("""[{"name":"a","epochs":1},{"name":"b","epochs":1,"dataFraction":0.5}]""", "--stages: stages[1].dataFraction: 0.5 is smaller than the previous stage's 1")]
    [InlineData("""[{"name":"a","epochs":1,"learningRate":0.1,"lrScale":2}]""", "--stages: stages[0].lrScale: not allowed together with learningRate")]
    [InlineData("""[{"name":"a","epochs":1,"initFrom":"best-of-previous"}]""", "--stages: stages[0].initFrom: 'best-of-previous' is not allowed in the first stage")]
    [InlineData("""[{"name":"a","epochs":1},{"name":"b","epochs":1,"initFrom":"best"}]""", "--stages: stages[1].initFrom: 'best' is not allowed; allowed: previous, best-of-previous")]
    [InlineData("""[{"name":"a","epochs":1,"schedule":{"type":"wavy"}}]""", "--stages: stages[0].schedule.type: 'wavy' is not allowed; allowed: constant")]
    [InlineData("""[{"name":"a","epochs":1,"schedule":{"kind":"cosine"}}]""", "--stages: stages[0].schedule.kind: unknown field")]
    [InlineData("""[{"name":"a","epochs":1,"mixup":"no"}]""", "--stages: stages[0].mixup: \"no\" is not allowed; allowed: true or false")]
    [InlineData("""[{"name":"a","epochs":1,"freeze":"conv1"}]""", "--stages: stages[0].freeze: \"conv1\" is not allowed; allowed: an array")]
    [InlineData("""[{"name":"a","epochs":1,"imageSize":4}]""", "--stages: stages[0].imageSize: 4 is not allowed; allowed: an integer from 8")]
    public void Parse_Should_NameTheStageFieldAndTheFix_When_AStageIsInvalid(string json, string expected)
    {
        var e = Assert.Throws<OptionsException>(() => StageJson.Parse(json, "--stages", ScheduleScopeNames.Stage));
        Assert.StartsWith(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_Should_RefuseAStageSchedule_When_TheScheduleScopeIsGlobal()
    {
        var e = Assert.Throws<OptionsException>(() => StageJson.Parse("""[{"name":"a","epochs":1,"schedule":{"type":"cosine"}}]""", "--stages", ScheduleScopeNames.Global));
        Assert.StartsWith("--stages: stages[0].schedule: not allowed with --schedule-scope global", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OptionsParser_Should_SumTheStagesEpochs_When_StagesAreGivenInTheEnvironment()
    {
        var env = new Dictionary<string, string> { [TrainerEnvironment.Stages] = """[{"name":"a","epochs":2},{"name":"b","epochs":3}]""", [TrainerEnvironment.Epochs] = "9" };

        var options = OptionsParser.Parse([], env.GetValueOrDefault);

        Assert.Equal((5, 2), (options.Epochs, options.Stages!.Count));
        Assert.Equal(ScheduleScopeNames.Stage, options.ScheduleScope);
    }

    [Fact]
    public void OptionsParser_Should_NameTheVariable_When_TheStagesFromTheEnvironmentAreInvalid()
    {
        var env = new Dictionary<string, string> { [TrainerEnvironment.Stages] = """[{"name":"a","epochs":-1}]""" };
        var e = Assert.Throws<OptionsException>(() => OptionsParser.Parse([], env.GetValueOrDefault));
        Assert.StartsWith($"environment variable {TrainerEnvironment.Stages}, read as --stages: stages[0].epochs: -1 is not allowed", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OptionsParser_Should_RefuseAMergedStageSchedule_When_ItIsInvalid()
    {
        var e = Assert.Throws<OptionsException>(() => OptionsParser.Parse(["--stages", """[{"name":"a","epochs":1,"schedule":{"type":"multistep"}}]"""], _ => null));
        Assert.StartsWith("--stages: stages[0].schedule.milestones: required with type multistep", e.Message, StringComparison.Ordinal);
    }
}
