using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using K8sTraining.Chaos.Cluster;
using K8sTraining.Chaos.Fuzz;
using K8sTraining.Chaos.Runner;
using K8sTraining.ClusterSupport;
using K8sTraining.Operator.Api;
using K8sTraining.TestSupport;
using k8s;
using k8s.Models;

namespace K8sTraining.Chaos.Scenarios;

/// <summary>
/// §3 of issue 19, TrainingJob specs through the API: a few thousand seeded random manifests (<see cref="ManifestFuzzer"/>)
/// sent as raw JSON. Each must be refused by the API server with a 4xx and a message, or accepted and then given a
/// SpecValid condition by the operator within a deadline. Never a pod for a spec the operator calls invalid; the
/// operator never crashes or restarts (same PID, alive, /readyz 200 at the end). Jobs are deleted as they are judged.
/// </summary>
public sealed class SpecFuzzScenario : IChaosScenario
{
    /// <summary>This scenario's share of the suite's budget (full profile).</summary>
    public const double Share = 0.05;

    private const int InFlight = 16;

    private static readonly TimeSpan ConditionDeadline = TimeSpan.FromSeconds(20);

    public string Name => "spec fuzz";

    public async Task<ScenarioResult> RunAsync(ChaosContext context, CancellationToken cancellationToken)
    {
        var result = new ScenarioResult(Name);
        // The subset's sizes are fixed (its run fits in 30 s); its slice of the short test budget would cut it
        // before it starts, so it only has a safety cap.
        var until = context.IsSubset ? DateTime.UtcNow.AddSeconds(90) : context.SliceDeadline(Share);
        var manifests = context.IsSubset ? 200 : 3000;

        // No job here reads S3: the endpoint only fills the s3-credentials Secret, so no s3rver is started for it.
        await using var cluster = await LocalTestCluster.StartAsync(
            new LocalTestClusterOptions { S3Endpoint = "http://127.0.0.1:9", S3SecretKey = context.Secret, ScratchDirectory = context.NewDirectory("fuzz-cluster") },
            cancellationToken);
        var ns = await cluster.NewNamespaceAsync("fuzz");
        await using var op = OperatorProcess.Start(cluster.KubeconfigPath, ns, "fuzz-operator");
        var outcomes = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var invalid = new List<string>();
        var samples = new List<string>();
        try
        {
            await op.WaitReadyAndLeadingAsync(TimeSpan.FromSeconds(60));
            var pid = op.Pid;
            using var ledger = await PodLedger.StartAsync(cluster.Client, ns, cancellationToken);
            var fuzzer = new ManifestFuzzer(context.Random, await SpecSchemaAsync(cancellationToken), TrainingJob.KubeApiVersion, TrainingJob.KubeKind);
            using var http = new HttpClient { BaseAddress = cluster.Plane.BaseUri, Timeout = TimeSpan.FromSeconds(30) };
            var sent = 0;

            // Drawn one after another as the loop asks for the next (never two at once), so the seed alone decides
            // every manifest whatever the timing; judged InFlight at a time.
            IEnumerable<FuzzedManifest> Drawn()
            {
                for (var i = 0; i < manifests && DateTime.UtcNow < until; i++)
                {
                    sent++;
                    yield return fuzzer.Next(ns, $"fuzz-{i.ToString("D5", CultureInfo.InvariantCulture)}", LocalTestCluster.ScriptImage);
                }
            }

            await Parallel.ForEachAsync(Drawn(), new ParallelOptions { MaxDegreeOfParallelism = InFlight, CancellationToken = cancellationToken }, async (manifest, ct) =>
            {
                var verdict = await JudgeAsync(http, cluster, ns, manifest, ct);
                lock (outcomes)
                {
                    outcomes[verdict.Outcome] = outcomes.GetValueOrDefault(verdict.Outcome) + 1;
                    if (outcomes[verdict.Outcome] <= 2)
                    {
                        samples.Add($"{verdict.Outcome}: {manifest.Mutations}{(verdict.Message is { } m ? $" -> {Tail(m)}" : "")}");
                    }

                    if (verdict.Violation is { } v)
                    {
                        result.Violation($"{v} [{manifest.Mutations}]");
                    }

                    if (verdict.InvalidJob is { } name)
                    {
                        invalid.Add(name);
                    }
                }
            });
            result.Runs = sent;

            // A pod for a job the operator called invalid, even one created after its verdict, shows here.
            foreach (var name in invalid.Where(n => ledger.PodsOf(n).Count > 0))
            {
                result.Violation($"a pod was created for {name}, whose spec the operator called invalid: {string.Join(", ", ledger.PodsOf(name))}");
            }

            var ready = await Eventually.GetAsync(() => op.GetStatusAsync("/readyz"), c => c == System.Net.HttpStatusCode.OK, TimeSpan.FromSeconds(30), "the operator to be ready").ContinueWith(t => t.IsCompletedSuccessfully, TaskScheduler.Default);
            if (op.HasExited || op.Pid != pid || !ready)
            {
                result.Violation($"the operator {(op.HasExited ? "exited" : op.Pid != pid ? "restarted" : "is not ready")} after the fuzz:\n{Tail(op.Output)}");
            }

            result.Notes.AddRange(samples.Order(StringComparer.Ordinal).Select(x => $"e.g. {x}"));
            result.Notes.Add($"{sent} of {manifests} manifests{(sent < manifests ? " (stopped at the budget slice)" : "")}: {string.Join(", ", outcomes.Select(o => $"{o.Key} {o.Value}"))}");
        }
        finally
        {
            await ClusterEvidence.CollectAsync(context, cluster, ns, [op]);
        }

        return result;
    }

    /// <summary>What became of one manifest: an outcome for the notes, a violation, and the job's name when the operator called it invalid.</summary>
    private sealed record Verdict(string Outcome, string? Violation = null, string? InvalidJob = null, string? Message = null);

    private static async Task<Verdict> JudgeAsync(HttpClient http, LocalTestCluster cluster, string ns, FuzzedManifest manifest, CancellationToken cancellationToken)
    {
        try
        {
            return await SendAndWatchAsync(http, cluster, ns, manifest, cancellationToken);
        }
        catch (Exception e) when (e is HttpRequestException or k8s.Autorest.HttpOperationException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return new Verdict("failed request", $"the request failed: {e.GetType().Name}: {e.Message}");
        }
    }

    private static async Task<Verdict> SendAndWatchAsync(HttpClient http, LocalTestCluster cluster, string ns, FuzzedManifest manifest, CancellationToken cancellationToken)
    {
        using var content = new StringContent(manifest.Body, Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await http.PostAsync($"apis/{TrainingJob.KubeGroup}/{TrainingJob.KubeVersion}/namespaces/{ns}/{TrainingJob.KubePlural}", content, cancellationToken);
        var code = (int)response.StatusCode;
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        JsonObject? body = null;
        try
        {
            body = JsonNode.Parse(text) as JsonObject;
        }
        catch (System.Text.Json.JsonException)
        {
        }

        if (code is >= 400 and < 500)
        {
            var message = (string?)body?["message"];
            return string.IsNullOrWhiteSpace(message) || (string?)body?["kind"] != "Status"
                ? new Verdict($"refused {code}", $"refused with {code} but no Status with a message: {Tail(text)}")
                : new Verdict($"refused {code}", Message: message);
        }

        if (code is not (200 or 201))
        {
            return new Verdict($"answered {code}", $"the API server answered {code}: {Tail(text)}");
        }

        var name = (string?)body?["metadata"]?["name"] ?? "";
        var generation = (long?)body?["metadata"]?["generation"] ?? 1;
        V1Condition? condition = null;
        var deadline = DateTime.UtcNow + ConditionDeadline;
        while (condition is null && DateTime.UtcNow < deadline)
        {
            var job = await cluster.GetJobAsync(ns, name);
            condition = job.Status?.Conditions?.FirstOrDefault(c => c.Type == ConditionTypes.SpecValid && (c.ObservedGeneration ?? generation) >= generation);
            if (condition is null)
            {
                await Task.Delay(50, cancellationToken);
            }
        }

        await cluster.Client.CustomObjects.DeleteNamespacedCustomObjectAsync(TrainingJob.KubeGroup, TrainingJob.KubeVersion, ns, TrainingJob.KubePlural, name, new V1DeleteOptions { PropagationPolicy = "Background" }, cancellationToken: cancellationToken);
        if (condition is null)
        {
            return new Verdict("accepted, no condition", $"{name} was accepted but had no SpecValid condition after {ConditionDeadline.TotalSeconds:0} s");
        }

        if (condition.Status == "True")
        {
            return new Verdict("accepted valid");
        }

        return string.IsNullOrWhiteSpace(condition.Message)
            ? new Verdict($"accepted {condition.Reason}", $"{name}: SpecValid=False ({condition.Reason}) without a message", name)
            : new Verdict($"accepted {condition.Reason}", InvalidJob: name, Message: condition.Message);
    }

    /// <summary>The CRD's schema of spec, as the API server applies it.</summary>
    private static async Task<JsonObject> SpecSchemaAsync(CancellationToken cancellationToken)
    {
        var yaml = await File.ReadAllTextAsync(Path.Combine(RepositoryPaths.Root, "crds", "trainingjobs.k8straining.io.yaml"), cancellationToken);
        var crd = KubernetesYaml.Deserialize<V1CustomResourceDefinition>(yaml);
        var schema = JsonNode.Parse(KubernetesJson.Serialize(crd.Spec.Versions.Single(v => v.Storage).Schema.OpenAPIV3Schema))!;
        return (JsonObject)schema["properties"]!["spec"]!;
    }

    private static string Tail(string text) => text.Length <= 600 ? text : text[..600] + "...";
}
