using System.Globalization;
using K8sTraining.Chaos.Processes;
using K8sTraining.Chaos.Runner;
using K8sTraining.Chaos.Storage;
using K8sTraining.Contract;
using K8sTraining.TestSupport;

namespace K8sTraining.Chaos.Scenarios;

/// <summary>
/// §1 of issue 19, S3 faults: the trainer talks to s3rver through <see cref="FaultProxy"/> (503 SlowDown, resets
/// mid-body, truncated responses, multi-second latency) while s3rver is restarted on the same data. Invariants:
/// training never stops for storage trouble (exit 0, or 75 only for our own SIGTERM), the final weights equal an
/// uninterrupted run's, and latest.json never names a checkpoint that does not verify, neither while the run goes on
/// (polled) nor after it.
/// </summary>
public sealed class StorageFaultScenario : IChaosScenario
{

    public string Name => "S3 faults";

    public async Task<ScenarioResult> RunAsync(ChaosContext context, CancellationToken cancellationToken)
    {
        var result = new ScenarioResult(Name);
        // Four epochs leave room for the faults of the full suite; the subset's two share the other scenarios' reference.
        var epochs = context.IsSubset ? 2 : 4;
        await using var s3 = await ChaosS3.StartAsync(context.NewDirectory("s3-faults"), cancellationToken);
        await using var proxy = new FaultProxy(() => s3.Port, context.Random.Next());
        var reference = new TrainerFlags(context.NewDirectory("faults-reference"), epochs, 25, $"s3://{ChaosS3.Bucket}/faults-reference");
        var expected = await TrainerRuns.ReferenceAsync(context, result, reference, TrainerRuns.Slowed(ChaosS3.Environment(s3.EndpointUrl, context.Secret)), cancellationToken);
        if (expected is null)
        {
            return result;
        }

        for (var run = 1; run <= context.Profile.FaultRuns; run++)
        {
            var prefix = $"faults-{run}";
            var flags = new TrainerFlags(context.NewDirectory(prefix), epochs, 25, $"s3://{ChaosS3.Bucket}/{prefix}");
            var restartsAt = Enumerable.Range(0, context.Profile.S3Restarts).Select(_ => (long)context.Pick(20, (int)flags.TotalSteps - 100)).Order().ToList();
            var restartPauses = restartsAt.Select(_ => context.Pick(1000, 4000)).ToList();
            var sigtermAt = (long)context.Pick(60, (int)flags.TotalSteps - 60);
            proxy.FaultRate = context.Profile.FaultRate;
            using var stopMonitor = new CancellationTokenSource();
            var monitor = MonitorAsync(s3, prefix, result, context, stopMonitor.Token);
            var attempt = 0;
            var sigtermed = false;
            long resumeExpected = -1;
            while (true)
            {
                attempt++;
                var port = FreePort.Next();
                var env = TrainerRuns.Slowed(ChaosS3.Environment(proxy.EndpointUrl, context.Secret));
                env[TrainerEnvironment.JobUid] = "chaos-faults";
                env[TrainerEnvironment.Attempt] = attempt.ToString(CultureInfo.InvariantCulture);
                using var trainer = ChaosTrainer.Start(flags.Args("--metrics-port", port.ToString(CultureInfo.InvariantCulture)), env);
                result.Runs++;
                using var stopScrape = new CancellationTokenSource();
                var scrape = ScrapeAsync(context, port, stopScrape.Token);
                while (!trainer.HasExited)
                {
                    if (restartsAt.Count > 0 && trainer.LastStep >= restartsAt[0])
                    {
                        restartsAt.RemoveAt(0);
                        var pause = restartPauses[0];
                        restartPauses.RemoveAt(0);
                        await s3.StopAsync();
                        await Task.Delay(pause, cancellationToken);
                        await s3.StartAgainAsync(cancellationToken);
                        result.Interruptions++;
                        result.Notes.Add($"run {run}: s3rver restarted at step {trainer.LastStep} after {pause} ms down");
                    }
                    if (!sigtermed && trainer.LastStep >= sigtermAt)
                    {
                        sigtermed = true;
                        trainer.Sigterm();
                        result.Interruptions++;
                        break;
                    }
                    await Task.Delay(10, cancellationToken);
                }
                var code = await trainer.WaitForExitAsync(TrainerRuns.Deadline * 2);
                await stopScrape.CancelAsync();
                await scrape;
                trainer.Keep(context, $"{prefix} attempt {attempt}", flags.TerminationLog);
                if (resumeExpected >= 0)
                {
                    var lost = Math.Max(0, resumeExpected - Math.Max(trainer.ResumedAt, 0));
                    result.LostGraceful.Add(lost);
                    if (lost != 0)
                    {
                        result.Violation($"{prefix}: the SIGTERM stopped at step {resumeExpected}, the next attempt resumed at {trainer.ResumedAt}");
                    }
                    resumeExpected = -1;
                }
                if (code == TrainerExitCodes.Interrupted && sigtermed && attempt == 1)
                {
                    var report = ChaosTrainer.ReadTermination(flags.TerminationLog);
                    resumeExpected = Math.Max(report?.GlobalStep ?? 0, trainer.LastStep);
                    continue;
                }
                if (code != TrainerExitCodes.Completed)
                {
                    result.Violation($"{prefix} attempt {attempt}: training stopped with exit {code} under storage faults:\n{TrainerRuns.Tail(trainer.Output)}");
                }
                break;
            }
            await stopMonitor.CancelAsync();
            await monitor;
            proxy.FaultRate = 0;
            var weights = File.Exists(flags.Output) ? await File.ReadAllBytesAsync(flags.Output, cancellationToken) : [];
            if (!weights.AsSpan().SequenceEqual(expected))
            {
                result.Violation($"{prefix}: the final weights differ from the uninterrupted run's");
            }
            foreach (var problem in BucketAudit.Check(s3, prefix))
            {
                result.Violation($"after the run: {problem}");
            }
        }
        result.Notes.Add("proxy faults: " + string.Join(", ", proxy.Counts.Select(c => $"{c.Key} {c.Value}")));
        return result;
    }

    /// <summary>Audits the prefix every 200 ms; a problem still there 500 ms later (not a retention race) is a violation.</summary>
    private static async Task MonitorAsync(ChaosS3 s3, string prefix, ScenarioResult result, ChaosContext context, CancellationToken cancellationToken)
    {
        var checks = 0;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                checks++;
                var problems = BucketAudit.Check(s3, prefix);
                if (problems.Count > 0)
                {
                    await Task.Delay(500, cancellationToken);
                    foreach (var p in BucketAudit.Check(s3, prefix).Intersect(problems))
                    {
                        result.Violation($"during the run: {p}");
                    }
                }
                await Task.Delay(200, cancellationToken);
            }
        }
        catch (OperationCanceledException)
        {
        }
        context.Log($"{prefix}: {checks} audits of latest.json during the run");
    }

    /// <summary>Scrapes /metrics every second for the secrets scan.</summary>
    private static async Task ScrapeAsync(ChaosContext context, int port, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                context.Produced($"/metrics on {port}", await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics"), cancellationToken));
                await Task.Delay(1000, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (HttpRequestException)
            {
                try
                {
                    await Task.Delay(200, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }
}
