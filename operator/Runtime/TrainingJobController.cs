using K8sTraining.Operator.Api;
using K8sTraining.Operator.Metrics;
using K8sTraining.Operator.Pods;
using K8sTraining.Operator.Reconciliation;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace K8sTraining.Operator.Runtime;

/// <summary>
/// Informers for TrainingJobs and trainer pods (per watched namespace, or cluster-wide), a work queue keyed by
/// namespace/name and N workers; one job is never reconciled by two workers at once.
/// </summary>
public sealed partial class TrainingJobController : IDisposable
{
    private readonly OperatorOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<TrainingJobController> _logger;
    private readonly List<Informer<TrainingJob>> _jobInformers = [];
    private readonly List<Informer<V1Pod>> _podInformers = [];
    private readonly Informer<V1Node> _nodeInformer;
    private readonly KubernetesApi _api;
    private readonly WorkQueue _queue;
    private readonly PodExpectations _expectations;
    private readonly ClusterPort _cluster;
    private readonly TrainingJobReconciler _reconciler;
    // Straight to the pod IP: a cluster-wide HTTP_PROXY must not carry in-cluster requests.
    private readonly HttpClient _trainerHttp = new(new SocketsHttpHandler { UseProxy = false, ConnectTimeout = TrainerProgressProbe.Timeout }) { Timeout = TrainerProgressProbe.Timeout * 2 };

    public TrainingJobController(KubernetesApi api, OperatorOptions options, TimeProvider time, OperatorMetrics metrics, ILoggerFactory loggerFactory)
    {
        _options = options;
        _api = api;
        _time = time;
        _logger = loggerFactory.CreateLogger<TrainingJobController>();
        _queue = new WorkQueue(time, TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(60));
        _expectations = new PodExpectations(time, TimeSpan.FromMinutes(1));
        var informerLogger = loggerFactory.CreateLogger("K8sTraining.Operator.Runtime.Informer");
        IReadOnlyList<string?> namespaces = options.Namespaces.Count == 0 ? [null] : options.Namespaces.Cast<string?>().ToList();
        foreach (var ns in namespaces)
        {
            var where = ns ?? "all namespaces";
            var jobs = new Informer<TrainingJob>($"trainingjobs in {where}", api.JobsListWatch(ns), raw => KubernetesJson.Deserialize<TrainingJob>(raw), options.WatchTimeoutSeconds, informerLogger, time, options.ResyncPeriod);
            jobs.Changed += (_, current) => OnJobChanged(current);
            jobs.Changed += (old, current) => { if (current is null && old is not null) { _queue.Forget(old.Key); } };
            // An undecodable job is reported on itself by the worker; once it decodes again (or is gone) the reconciler takes over.
            jobs.UndecodableChanged += (key, _) => _queue.Add(key);
            _jobInformers.Add(jobs);
            var pods = new Informer<V1Pod>($"trainer pods in {where}", api.PodsListWatch(ns), raw => KubernetesJson.Deserialize<V1Pod>(raw), options.WatchTimeoutSeconds, informerLogger, time, options.ResyncPeriod);
            pods.Changed += OnPodChanged;
            _podInformers.Add(pods);
        }

        // Cluster-scoped, read whatever namespaces are watched. Not waited for before reconciling: until it has listed,
        // every Node is unknown (never taken for deleted), which is how the operator behaved before it read Nodes.
        _nodeInformer = new Informer<V1Node>("nodes", api.NodesListWatch(), raw => KubernetesJson.Deserialize<V1Node>(raw), options.WatchTimeoutSeconds, informerLogger, time, options.ResyncPeriod);
        _nodeInformer.Changed += OnNodeChanged;

        _cluster = new ClusterPort(api, options.Namespaces, _jobInformers, _podInformers, _nodeInformer, _expectations, loggerFactory.CreateLogger<ClusterPort>());
        _reconciler = new TrainingJobReconciler(
            _cluster,
            metrics,
            time,
            loggerFactory.CreateLogger<TrainingJobReconciler>(),
            options.ProgressInterval > TimeSpan.Zero
                ? new TrainerProgressProbe(_trainerHttp, time, options.ProgressInterval, loggerFactory.CreateLogger<TrainerProgressProbe>())
                : null,
            new PodSettings(options.CheckpointSyncImage));
    }

    /// <summary>Completes when every cache has listed once.</summary>
    public Task Synced => Task.WhenAll(_jobInformers.Select(i => i.Synced).Concat(_podInformers.Select(i => i.Synced)));

    public int QueueLength => _queue.Length;

    /// <summary>Watches of TrainingJobs and pods restarted (the Node watch is not counted: it is no job's).</summary>
    public int WatchRestarts => _jobInformers.Sum(i => i.WatchRestarts) + _podInformers.Sum(i => i.WatchRestarts);

    /// <summary>Watches open now, the Node watch included: one per informer while all is well; the soak checks it stays flat.</summary>
    public int ActiveWatches => _jobInformers.Sum(i => i.ActiveWatches) + _podInformers.Sum(i => i.ActiveWatches) + _nodeInformer.ActiveWatches;

    public int Relists => _jobInformers.Sum(i => i.Relists) + _podInformers.Sum(i => i.Relists);

    /// <summary>TrainingJobs the operator cannot decode, as namespace/name.</summary>
    public IReadOnlyList<string> UndecodableJobs => _jobInformers.SelectMany(i => i.Undecodable).Select(u => u.Key).Order(StringComparer.Ordinal).ToList();

    /// <summary>One line per informer that cannot list now (readiness reports them).</summary>
    public IReadOnlyList<string> ListProblems =>
        _jobInformers.Select(i => (i.Description, i.ListProblem))
            .Concat(_podInformers.Select(i => (i.Description, i.ListProblem)))
            .Append((_nodeInformer.Description, _nodeInformer.ListProblem))
            .Where(p => p.ListProblem is not null)
            .Select(p => $"{p.Description}: cannot list since {p.ListProblem!.Since.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}: {p.ListProblem.Message}")
            .ToList();

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var informers = _jobInformers.Select(i => i.RunAsync(cancellationToken))
            .Concat(_podInformers.Select(i => i.RunAsync(cancellationToken)))
            .Append(_nodeInformer.RunAsync(cancellationToken))
            .ToList();

        // Reconcile only from a complete picture: pods first, so no job is judged without its pods.
        await Task.WhenAny(Synced, Task.Delay(Timeout.Infinite, cancellationToken)).ConfigureAwait(false);
        if (cancellationToken.IsCancellationRequested)
        {
            await Task.WhenAll(informers).ConfigureAwait(false);
            return;
        }

        foreach (var key in AllJobKeys())
        {
            _queue.Add(key);
        }

        Log.Started(_logger, _options.MaxConcurrentReconciles, _options.Namespaces.Count == 0 ? "all namespaces" : string.Join(",", _options.Namespaces));
        var workers = Enumerable.Range(0, _options.MaxConcurrentReconciles).Select(_ => WorkAsync(cancellationToken)).ToList();
        var resync = ResyncAsync(cancellationToken);
        await Task.WhenAll(informers.Concat(workers).Append(resync)).ConfigureAwait(false);
    }

    public void Dispose()
    {
        _queue.Dispose();
        _trainerHttp.Dispose();
    }

    private async Task WorkAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            string key;
            try
            {
                key = await _queue.GetAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or System.Threading.Channels.ChannelClosedException)
            {
                return;
            }

            try
            {
                var ns = key[..key.IndexOf('/', StringComparison.Ordinal)];
                var result = _cluster.JobInformerFor(ns)?.GetUndecodable(key) is { } undecodable
                    ? await ReportUndecodableAsync(undecodable, cancellationToken).ConfigureAwait(false)
                    : await _reconciler.ReconcileAsync(key, cancellationToken).ConfigureAwait(false);
                switch (result)
                {
                    case ReconcileResult.RetryResult:
                        _queue.AddRateLimited(key);
                        break;
                    case ReconcileResult.RequeueAfterResult after:
                        _queue.Forget(key);
                        _queue.AddAfter(key, after.Delay);
                        break;
                    default:
                        _queue.Forget(key);
                        break;
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                var delay = _queue.AddRateLimited(key);
                Log.ReconcileFailed(_logger, key, delay.TotalSeconds, e);
            }
            finally
            {
                _queue.Done(key);
            }
        }
    }

    private IEnumerable<string> AllJobKeys() =>
        _jobInformers.SelectMany(i => i.Items.Select(j => j.Key).Concat(i.Undecodable.Select(u => u.Key)));

    /// <summary>
    /// Reports a job the operator cannot decode on the job itself: SpecValid=False reason Undecodable on its status,
    /// then one Warning Event; once per generation (a resync finds the condition in place and writes nothing).
    /// </summary>
    private async Task<ReconcileResult> ReportUndecodableAsync(UndecodableObject job, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        if (UndecodableJobStatus.Next(job, now) is not { } updated)
        {
            return ReconcileResult.Done;
        }

        try
        {
            await _api.ReplaceRawStatusAsync(job.Namespace, job.Name, updated, cancellationToken).ConfigureAwait(false);
        }
        catch (ConflictException)
        {
            // A newer version is on its way through the watch; it is reported then.
            return ReconcileResult.Retry("the job changed while its status was written");
        }
        catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return ReconcileResult.Done;
        }

        Log.ReportedUndecodable(_logger, job.Key, job.Generation ?? 0, job.Problem);
        var involved = KubernetesApi.JobReference(job.Namespace, job.Name, job.Uid, job.ResourceVersion);
        await _api.RecordEventAsync(involved, JobEvent.Warning(EventReasons.Undecodable, UndecodableJobStatus.Message(job)), now, cancellationToken).ConfigureAwait(false);
        return ReconcileResult.Done;
    }

    private async Task ResyncAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_options.ResyncPeriod, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                foreach (var key in AllJobKeys())
                {
                    _queue.Add(key);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void OnJobChanged(TrainingJob? job)
    {
        if (job is not null)
        {
            _queue.Add(job.Key);
        }
    }

    private void OnPodChanged(V1Pod? old, V1Pod? current)
    {
        var pod = current ?? old;
        if (pod is null)
        {
            return;
        }

        _expectations.Observed(pod);
        var owner = pod.Metadata.OwnerReferences?.FirstOrDefault(o => o.Controller == true && o.Kind == TrainingJob.KubeKind && o.ApiVersion == TrainingJob.KubeApiVersion);
        if (owner is not null)
        {
            _queue.Add($"{pod.Metadata.NamespaceProperty}/{owner.Name}");
        }
    }

    /// <summary>
    /// A Node's change that matters to node loss (Ready status, the lifecycle taints, existence) wakes the jobs with a
    /// pod on it; heartbeat-only updates wake nothing.
    /// </summary>
    private void OnNodeChanged(V1Node? old, V1Node? current)
    {
        if (old is not null && current is not null && NodeLossState(old) == NodeLossState(current))
        {
            return;
        }

        var name = (current ?? old)?.Metadata.Name;
        foreach (var pod in _podInformers.SelectMany(i => i.Items).Where(p => p.Spec?.NodeName == name))
        {
            var owner = pod.Metadata.OwnerReferences?.FirstOrDefault(o => o.Controller == true && o.Kind == TrainingJob.KubeKind);
            if (owner is not null)
            {
                _queue.Add($"{pod.Metadata.NamespaceProperty}/{owner.Name}");
            }
        }
    }

    private static string NodeLossState(V1Node node) =>
        $"{node.Status?.Conditions?.FirstOrDefault(c => c.Type == "Ready")?.Status}|{string.Join(",", (node.Spec?.Taints ?? []).Where(t => t.Effect == "NoExecute").Select(t => t.Key).Order(StringComparer.Ordinal))}";

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Information, Message = "Caches synced; {Workers} workers reconciling TrainingJobs in {Namespaces}")]
        public static partial void Started(ILogger logger, int workers, string namespaces);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Reported {Key} (generation {Generation}) as undecodable: {Problem}")]
        public static partial void ReportedUndecodable(ILogger logger, string key, long generation, string problem);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Reconcile of {Key} failed; retrying in {Seconds}s")]
        public static partial void ReconcileFailed(ILogger logger, string key, double seconds, Exception e);
    }
}
