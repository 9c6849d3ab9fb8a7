using K8sTraining.LocalCluster.Api.Faults;
using K8sTraining.LocalCluster.Resources;

namespace K8sTraining.LocalCluster.Tests.Faults;

/// <summary>The fault mode's choices: which error a draw gives, which client a rule picks, how long a watch lives.</summary>
[Trait("Category", "Unit")]
public sealed class ApiFaultDecisionsTests
{
    private static readonly ApiFaultRule Mixed = new() { UserAgentPrefix = "op/", Conflict = 0.2, TooManyRequests = 0.3, InternalError = 0.1 };

    public static TheoryData<string, string, bool, double, ApiFaultKind?> Requests => new()
    {
        { "a named update in the conflict band conflicts", "update", true, 0.1, ApiFaultKind.Conflict },
        { "a named patch in the conflict band conflicts", "patch", true, 0.19, ApiFaultKind.Conflict },
        { "a named delete in the conflict band conflicts", "delete", true, 0.0, ApiFaultKind.Conflict },
        { "a named update after the conflict band is throttled", "update", true, 0.2, ApiFaultKind.TooManyRequests },
        { "a named update in the last band fails", "update", true, 0.55, ApiFaultKind.InternalError },
        { "a named update past every band is served", "update", true, 0.6, null },
        { "a read never conflicts: its bands start at 0", "get", true, 0.1, ApiFaultKind.TooManyRequests },
        { "a list is throttled in the first band", "list", false, 0.29, ApiFaultKind.TooManyRequests },
        { "a watch fails in the second band", "watch", false, 0.35, ApiFaultKind.InternalError },
        { "a read past the bands is served", "get", true, 0.4, null },
        { "a create of a new name never conflicts", "create", false, 0.1, ApiFaultKind.TooManyRequests },
        { "a named create (eviction, binding) can conflict", "create", true, 0.1, ApiFaultKind.Conflict },
    };

    [Theory]
    [MemberData(nameof(Requests))]
    public void RequestFault_Should_PickTheBandTheDrawFallsIn_When_ARuleHasRates(string name, string verb, bool named, double draw, ApiFaultKind? expected)
    {
        Assert.True(expected == ApiFaultDecisions.RequestFault(Mixed, verb, named, draw), name);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.5)]
    [InlineData(0.999)]
    public void RequestFault_Should_ServeTheRequest_When_TheRuleHasNoRates(double draw)
    {
        var rule = new ApiFaultRule { UserAgentPrefix = "op/", DropWatchEvents = 1 };

        Assert.Null(ApiFaultDecisions.RequestFault(rule, "update", true, draw));
        Assert.False(ApiFaultDecisions.HasRequestFaults(rule));
    }

    public static TheoryData<string, string, string?> Clients => new()
    {
        { "the operator's agent matches its prefix", "k8s-training-operator/op-1", "k8s-training-operator/" },
        { "the first matching rule wins", "k8s-training-operator/op-2 extra", "k8s-training-operator/" },
        { "another client is left alone", "kubectl/v1.31.0 (linux/amd64)", null },
        { "the prefix is case-sensitive", "K8S-TRAINING-OPERATOR/op-1", null },
        { "an empty agent matches no prefix", "", null },
    };

    [Theory]
    [MemberData(nameof(Clients))]
    public void RuleFor_Should_PickTheFirstRuleWhosePrefixStartsTheAgent_When_RulesAreSet(string name, string userAgent, string? expectedPrefix)
    {
        var rules = new[]
        {
            new ApiFaultRule { UserAgentPrefix = "k8s-training-operator/", Conflict = 1 },
            new ApiFaultRule { UserAgentPrefix = "k8s-training-operator/op-2", InternalError = 1 },
        };

        var rule = ApiFaultDecisions.RuleFor(rules, userAgent);

        Assert.True(expectedPrefix == rule?.UserAgentPrefix, $"{name}: got {rule?.UserAgentPrefix ?? "no rule"}");
        Assert.Same(rule is null ? null : rules[0], rule);
    }

    public static TheoryData<string, double?, double?, double, double, double> Lifetimes => new()
    {
        { "no early close keeps the timeout", null, null, 30, 0.5, 30 },
        { "the draw picks a point in the range", 2, 6, 30, 0.5, 4 },
        { "a draw of 0 closes at the minimum", 2, 6, 30, 0.0, 2 },
        { "a timeout shorter than the range wins", 2, 6, 3, 0.9, 3 },
    };

    [Theory]
    [MemberData(nameof(Lifetimes))]
    public void WatchLifetime_Should_CloseWithinTheRange_When_TheRuleClosesWatchesEarly(string name, double? min, double? max, double timeout, double draw, double expected)
    {
        var rule = new ApiFaultRule
        {
            UserAgentPrefix = "op/",
            CloseWatchesAfter = min is null ? null : (TimeSpan.FromSeconds(min.Value), TimeSpan.FromSeconds(max!.Value)),
        };

        Assert.True(TimeSpan.FromSeconds(expected) == ApiFaultDecisions.WatchLifetime(rule, TimeSpan.FromSeconds(timeout), draw), name);
    }

    [Fact]
    public void ErrorFor_Should_AnswerAsARealApiServer_When_AConflictIsInjected()
    {
        var status = ApiFaultDecisions.ErrorFor(ApiFaultKind.Conflict, BuiltinResources.Pods, "job-a-1", 1).ToStatus();

        Assert.Equal(409, (int)status["code"]!);
        Assert.Equal("Conflict", (string?)status["reason"]);
        Assert.Equal("Failure", (string?)status["status"]);
        Assert.Equal("Operation cannot be fulfilled on pods \"job-a-1\": the object has been modified; please apply your changes to the latest version and try again", (string?)status["message"]);
        Assert.Equal("job-a-1", (string?)status["details"]!["name"]);
        Assert.Equal("pods", (string?)status["details"]!["kind"]);
    }

    [Fact]
    public void ErrorFor_Should_CarryRetryAfterSeconds_When_TooManyRequestsIsInjected()
    {
        var status = ApiFaultDecisions.ErrorFor(ApiFaultKind.TooManyRequests, BuiltinResources.Pods, null, 3).ToStatus();

        Assert.Equal(429, (int)status["code"]!);
        Assert.Equal("TooManyRequests", (string?)status["reason"]);
        Assert.Equal("Too many requests, please try again later.", (string?)status["message"]);
        Assert.Equal(3, (int)status["details"]!["retryAfterSeconds"]!);
    }

    [Fact]
    public void ErrorFor_Should_SayItWasInjected_When_AnInternalErrorIsInjected()
    {
        var status = ApiFaultDecisions.ErrorFor(ApiFaultKind.InternalError, BuiltinResources.Pods, null, 1).ToStatus();

        Assert.Equal(500, (int)status["code"]!);
        Assert.Equal("InternalError", (string?)status["reason"]);
        Assert.Equal($"Internal error occurred: {ApiFaultDecisions.InjectedInternalError}", (string?)status["message"]);
        Assert.Equal(ApiFaultDecisions.InjectedInternalError, (string?)status["details"]!["causes"]![0]!["message"]);
    }

    public static TheoryData<string, ApiFaultRule, string> BadRules => new()
    {
        { "a negative rate", new ApiFaultRule { UserAgentPrefix = "a", Conflict = -0.1 }, "Conflict is a fraction from 0 to 1" },
        { "a rate above 1", new ApiFaultRule { UserAgentPrefix = "a", DropWatchEvents = 1.5 }, "DropWatchEvents is a fraction from 0 to 1" },
        { "error rates adding past 1", new ApiFaultRule { UserAgentPrefix = "a", Conflict = 0.6, InternalError = 0.6 }, "must not exceed 1" },
        { "a negative delay", new ApiFaultRule { UserAgentPrefix = "a", WatchDelay = TimeSpan.FromSeconds(-1) }, "WatchDelay must not be negative" },
        { "a Retry-After of 0", new ApiFaultRule { UserAgentPrefix = "a", RetryAfterSeconds = 0 }, "RetryAfterSeconds must be at least 1" },
        { "an inverted close range", new ApiFaultRule { UserAgentPrefix = "a", CloseWatchesAfter = (TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(1)) }, "CloseWatchesAfter must be a positive range" },
    };

    [Theory]
    [MemberData(nameof(BadRules))]
    public void Set_Should_RefuseTheRuleNamingTheField_When_AValueIsOutOfRange(string name, ApiFaultRule rule, string message)
    {
        var faults = new ApiFaults();

        var error = Assert.Throws<ArgumentException>(() => faults.Set(1, rule));

        Assert.True(error.Message.Contains(message, StringComparison.Ordinal), $"{name}: {error.Message}");
        Assert.Empty(faults.Rules);
    }

    [Fact]
    public void ForRequest_Should_DrawTheSameFaults_When_TheSameSeedIsSetAgain()
    {
        var faults = new ApiFaults();
        var rule = new ApiFaultRule { UserAgentPrefix = "op/", Conflict = 0.3, TooManyRequests = 0.3 };

        List<int?> Draws()
        {
            faults.Set(42, rule);
            return Enumerable.Range(0, 50).Select(_ => faults.ForRequest("op/1", "update", BuiltinResources.ConfigMaps, "c")?.Code).ToList();
        }

        var first = Draws();
        var second = Draws();

        Assert.Equal(first, second);
        Assert.Contains(409, first);
        Assert.Contains(429, first);
        Assert.Contains(null, first);
        Assert.Equal(2L * first.Count(c => c is not null), faults.TotalInjected);
    }

    [Fact]
    public void ForRequest_Should_ServeEveryOtherClient_When_ARuleTargetsOne()
    {
        var faults = new ApiFaults();
        faults.Set(1, new ApiFaultRule { UserAgentPrefix = "op/", InternalError = 1 });

        Assert.Null(faults.ForRequest("kubectl/v1.31", "list", BuiltinResources.Pods, null));
        Assert.Equal(500, faults.ForRequest("op/x", "list", BuiltinResources.Pods, null)?.Code);
        Assert.Equal(1, faults.Injected(ApiFaultKind.InternalError));
    }
}
