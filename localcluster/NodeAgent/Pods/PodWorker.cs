using System.Globalization;
using System.Net;
using System.Threading.Channels;
using K8sTraining.NodeAgent.Containers;
using K8sTraining.NodeAgent.Images;
using K8sTraining.NodeAgent.Network;
using K8sTraining.NodeAgent.Processes;
using K8sTraining.NodeAgent.Status;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace K8sTraining.NodeAgent.Pods;

/// <summary>Everything a pod worker needs from the node.</summary>
internal sealed record PodWorkerContext(
    KubeApi Api,
    EventRecorder Events,
    ImageTable Images,
    NodeContext Node,
    PodNetwork Network,
    string RootDirectory,
    TimeProvider Time,
    ILogger Logger,
    TimeSpan MinimumGracePeriod,
    TimeSpan RestartBackoffInitial,
    TimeSpan RestartBackoffMax,
    TimeSpan ConfigRetryInterval,
    TimeSpan ShutdownGracePeriod);

/// <summary>
/// Runs one pod (one uid) like the kubelet's pod worker: runs its init containers in order (<see cref="StartOrder"/>),
/// starts its containers, restarts them per restartPolicy with back-off, reports status, stops its native sidecars
/// after the main containers (in reverse order), and on deletion stops them all (SIGTERM, the grace period, SIGKILL),
/// reports the final status and removes the pod object. It owns the pod's processes alone, so nothing in it needs a lock.
/// </summary>
internal sealed class PodWorker
{
    private const string ContainerStatusUnknown = "ContainerStatusUnknown";

    private readonly Channel<V1Pod?> _updates = Channel.CreateUnbounded<V1Pod?>(new UnboundedChannelOptions { SingleReader = true });
    private readonly PodWorkerContext _context;
    private readonly ContainerSlot[] _slots;
    private readonly ContainerSlot[] _init;
    private readonly ContainerSlot[] _main;
    private readonly PodDirectory _directory;
    private readonly string _namespace;
    private readonly string _name;
    private NodeContext _node;
    private PodAttachment? _network;
    private V1Pod _pod;
    private bool _removed;
    private bool _terminating;
    private IReadOnlyDictionary<string, string>? _volumes;
    private DateTime? _startTime;
    private string? _reportedPhase;
    private bool _initialized;

    public PodWorker(V1Pod pod, PodWorkerContext context)
    {
        _pod = pod;
        _context = context;
        _node = context.Node;
        Uid = pod.Metadata.Uid;
        _namespace = pod.Metadata.NamespaceProperty ?? "default";
        _name = pod.Metadata.Name;
        _init = (pod.Spec.InitContainers ?? [])
            .Select(c => new ContainerSlot(c, c.RestartPolicy == "Always" ? ContainerKind.Sidecar : ContainerKind.Init))
            .ToArray();
        _main = pod.Spec.Containers.Select(c => new ContainerSlot(c)).ToArray();
        foreach (var slot in _init.Length == 0 ? [] : _main)
        {
            slot.Waiting = new V1ContainerStateWaiting { Reason = "PodInitializing" };
        }

        _slots = [.. _init, .. _main];
        _directory = new PodDirectory(context.RootDirectory, pod);
    }

    public string Uid { get; }

    public string Key => $"{_namespace}/{_name}";

    /// <summary>A newer version of the pod object.</summary>
    public void Post(V1Pod pod) => _updates.Writer.TryWrite(pod);

    /// <summary>The pod object is gone from the API (force deletion, or deleted while the agent was away).</summary>
    public void PostRemoved() => _updates.Writer.TryWrite(null);

    public async Task RunAsync(CancellationToken stop)
    {
        try
        {
            _directory.Create();
            KillLeftovers();
            if (PodPhases.IsTerminal(_pod.Status?.Phase))
            {
                await WaitForRemovalAsync(stop).ConfigureAwait(false);
            }
            else
            {
                AttachToNetwork();
                AdoptPreviousStatus();
                await SyncLoopAsync(stop).ConfigureAwait(false);
            }

            // The pod is gone and its containers with it: its volumes go too, as on a real node; logs stay.
            _directory.RemoveVolumes();
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            await ShutdownAsync().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Log.WorkerFailed(_context.Logger, e, _namespace, _name);
            await ShutdownAsync().ConfigureAwait(false);
            throw;
        }
        finally
        {
            foreach (var slot in _slots)
            {
                slot.Process?.Dispose();
            }

            _network?.Dispose();
        }
    }

    /// <summary>The pod's own address and name on the pod network (a pod adopted after a restart keeps its address);
    /// status.podIP and the downward API give that address.</summary>
    private void AttachToNetwork()
    {
        _network = _context.Network.Attach(Uid, _namespace, PodHostname.Of(_pod), _pod.Spec.Subdomain, _pod.Status?.PodIP, _directory.HostsFile);
        _node = _context.Node with { PodIP = _network.Address };
    }

    private DateTime Now => TruncateToSeconds(_context.Time.GetUtcNow().UtcDateTime);

    private static DateTime TruncateToSeconds(DateTime time) =>
        new(time.Ticks - (time.Ticks % TimeSpan.TicksPerSecond), DateTimeKind.Utc);

    private async Task SyncLoopAsync(CancellationToken stop)
    {
        while (true)
        {
            DrainUpdates();
            if (_removed)
            {
                await StopContainersAsync(GracePeriod(), stop).ConfigureAwait(false);
                return;
            }

            if (_pod.Metadata.DeletionTimestamp is not null)
            {
                await TerminateAsync(stop).ConfigureAwait(false);
                return;
            }

            await StartDueContainersAsync(stop).ConfigureAwait(false);
            var phase = Phase(terminating: false);
            await WriteStatusAsync(phase, stop).ConfigureAwait(false);
            if (_removed)
            {
                continue;
            }

            if (!_terminating && HasSidecars && PodEnded())
            {
                // The main containers have exited for good (or an init container failed): the kubelet stops the
                // sidecars now, in reverse order, within the grace period; the pod ends once they have stopped.
                await StopContainersAsync(GracePeriod(), stop).ConfigureAwait(false);
                continue;
            }

            if (PodPhases.IsTerminal(phase))
            {
                // Its containers are gone: the address goes back to the pool (status.podIP still says what it was).
                _network?.Dispose();
                await WaitForRemovalAsync(stop).ConfigureAwait(false);
                return;
            }

            await WaitForChangeAsync(StartupPending() ? _context.Time.GetUtcNow().UtcDateTime + StartupGate.PollInterval : null, stop).ConfigureAwait(false);
            CollectExits();
        }
    }

    private bool HasSidecars => _init.Any(s => s.Kind == ContainerKind.Sidecar);

    private IReadOnlyList<ContainerSnapshot> Snapshots() => _main.Select(s => s.Snapshot()).ToArray();

    private IReadOnlyList<ContainerSnapshot> InitSnapshots() => _init.Select(s => s.Snapshot()).ToArray();

    private string Phase(bool terminating) => PodPhases.Compute(_pod.Spec.RestartPolicy, InitSnapshots(), Snapshots(), terminating);

    /// <summary>No main container will run again: all have exited for good, or a failed init container ended the pod.</summary>
    private bool PodEnded() =>
        _main.All(s => s.Terminated is not null) || _init.Any(s => s.Kind == ContainerKind.Init && s.Terminated is { ExitCode: not 0 });

    private bool StartupPending() => _slots.Any(s => s.Process is not null && !s.StartupDone);

    /// <summary>A running container whose startup probe (<see cref="StartupGate"/>) now passes counts as started.</summary>
    private void CheckStartupProbes()
    {
        foreach (var slot in _slots.Where(s => s.Process is not null && !s.StartupDone))
        {
            if (slot.StartupFile is null || File.Exists(slot.StartupFile))
            {
                slot.StartupDone = true;
                slot.EverStartedUp = true;
            }
        }
    }

    private void DrainUpdates()
    {
        while (_updates.Reader.TryRead(out var pod))
        {
            if (pod is null)
            {
                _removed = true;
            }
            else if (pod.Metadata.Uid == Uid)
            {
                _pod = pod;
            }
        }
    }

    /// <summary>Waits until a container exits, the pod changes, or the deadline (or the next due start) passes.</summary>
    private async Task WaitForChangeAsync(DateTime? deadline, CancellationToken stop)
    {
        using var wake = CancellationTokenSource.CreateLinkedTokenSource(stop);
        var tasks = new List<Task>();
        tasks.AddRange(_slots.Where(s => s.Process is not null).Select(s => (Task)s.Process!.Exited));
        tasks.Add(_updates.Reader.WaitToReadAsync(wake.Token).AsTask());
        var due = _slots.Where(s => s.Process is null && s.Terminated is null && s.NextStartAt is not null)
            .Select(s => s.NextStartAt!.Value)
            .Append(deadline ?? DateTime.MaxValue)
            .Min();
        if (due != DateTime.MaxValue)
        {
            var delay = due - _context.Time.GetUtcNow().UtcDateTime;
            tasks.Add(Task.Delay(delay > TimeSpan.Zero ? delay : TimeSpan.Zero, _context.Time, wake.Token));
        }

        await Task.WhenAny(tasks).ConfigureAwait(false);
        await wake.CancelAsync().ConfigureAwait(false);
        stop.ThrowIfCancellationRequested();
    }

    private async Task StartDueContainersAsync(CancellationToken stop)
    {
        // Each start may let the next init container (or the main ones) start at once: go on until nothing more starts.
        for (var round = 0; round <= _slots.Length && !_terminating; round++)
        {
            CheckStartupProbes();
            var startable = StartOrder.Startable(_init, _main, out var initialized);
            if (initialized && !_initialized)
            {
                _initialized = true;
                foreach (var slot in _main.Where(s => s.Waiting?.Reason == "PodInitializing"))
                {
                    slot.Waiting = null;
                }
            }

            var now = _context.Time.GetUtcNow().UtcDateTime;
            var due = startable.Where(s => s.WantsStart(now)).ToList();
            if (due.Count == 0)
            {
                return;
            }

            foreach (var slot in due)
            {
                await StartAsync(slot, stop).ConfigureAwait(false);
            }
        }
    }

    private async Task StartAsync(ContainerSlot slot, CancellationToken stop)
    {
        var container = slot.Spec;
        slot.Image ??= _context.Images.Resolve(container.Image);
        if (slot.Image is null)
        {
            Wait(slot, "ErrImagePull", $"image \"{container.Image}\" is not in the node's image table (localcluster/images.yaml)");
            return;
        }

        IReadOnlyList<string> argv;
        Dictionary<string, string> environment;
        PathMapper paths;
        try
        {
            _volumes ??= await _directory.MountVolumesAsync(_context.Api, _node, stop).ConfigureAwait(false);
            paths = PathsFor(container);
            var podEnvironment = await new ContainerEnvironment(_context.Api, _node)
                .BuildAsync(_pod, container, paths, stop).ConfigureAwait(false);
            environment = ProcessEnvironment(slot.Image, podEnvironment);
            var expansionContext = new Dictionary<string, string>(_context.Node.ServiceEnvironment, StringComparer.Ordinal);
            foreach (var (name, value) in podEnvironment)
            {
                expansionContext[name] = value;
            }

            argv = ContainerCommand.Build(container, slot.Image, expansionContext, paths);
        }
        catch (ContainerConfigException e)
        {
            Wait(slot, _volumes is null ? "ContainerCreating" : "CreateContainerConfigError", e.Message);
            return;
        }
        catch (HttpOperationException e)
        {
            Wait(slot, "CreateContainerConfigError", e.Message);
            return;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A spec the node cannot turn into a process (one a real API server would have refused) must not kill the
            // worker: the pod would stay Pending forever and, once deleted, Terminating until force-deleted.
            Wait(slot, "CreateContainerConfigError", e.Message);
            return;
        }

        var startedAt = Now;
        var restartCount = slot.EverStarted ? slot.RestartCount + 1 : slot.RestartCount;
        var workingDirectory = WorkingDirectory(container, paths);
        var executable = argv.Count == 0 ? null : ExecutableLookup.Find(argv[0], environment.GetValueOrDefault("PATH"), workingDirectory);
        if (executable is null)
        {
            var what = argv.Count == 0 ? "no command specified" : $"exec: \"{argv[0]}\": executable file not found in $PATH";
            slot.EverStarted = true;
            slot.RestartCount = restartCount;
            slot.StartedAt = startedAt;
            slot.ContainerId = NewContainerId();
            Log.ContainerNotStarted(_context.Logger, _namespace, _name, container.Name, "StartError", what);
            _context.Events.Record(_pod, container.Name, EventRecorder.Warning, "Failed", $"Error: {what}");
            OnExited(slot, 128, "StartError", $"failed to start container \"{container.Name}\": {what}");
            return;
        }

        File.WriteAllBytes(_directory.TerminationMessageFile(container.Name), []);
        ProcessGroup process;
        try
        {
            process = ProcessGroup.Start(new ProcessSpec(argv, environment, workingDirectory, _directory.LogFile(container.Name, restartCount)));
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or IOException or UnauthorizedAccessException)
        {
            slot.EverStarted = true;
            slot.RestartCount = restartCount;
            slot.StartedAt = startedAt;
            slot.ContainerId = NewContainerId();
            _context.Events.Record(_pod, container.Name, EventRecorder.Warning, "Failed", $"Error: {e.Message}");
            OnExited(slot, 128, "StartError", $"failed to start container \"{container.Name}\": {e.Message}");
            return;
        }

        File.WriteAllText(_directory.PidFile(container.Name),
            $"{process.Id} {ProcessGroup.ReadStartTime(process.Id)?.ToString(CultureInfo.InvariantCulture) ?? "0"}");
        slot.Process = process;
        slot.StartupFile = StartupGate.FileOf(container, paths);
        slot.StartupDone = slot.StartupFile is null || File.Exists(slot.StartupFile);
        slot.EverStartedUp |= slot.StartupDone;
        slot.EverStarted = true;
        slot.RestartCount = restartCount;
        slot.StartedAt = startedAt;
        slot.ContainerId = NewContainerId();
        slot.Waiting = null;
        slot.NextStartAt = null;
        _startTime ??= startedAt;
        Log.ContainerStarted(_context.Logger, _namespace, _name, container.Name, process.Id, string.Join(' ', argv));
        if (restartCount == 0)
        {
            _context.Events.Record(_pod, container.Name, EventRecorder.Normal, "Pulled", $"Container image \"{container.Image}\" already present on machine");
        }

        _context.Events.Record(_pod, container.Name, EventRecorder.Normal, "Created", $"Created container {container.Name}");
        _context.Events.Record(_pod, container.Name, EventRecorder.Normal, "Started", $"Started container {container.Name}");
    }

    private void Wait(ContainerSlot slot, string reason, string message)
    {
        if (slot.Waiting?.Reason != reason || slot.Waiting?.Message != message)
        {
            Log.ContainerNotStarted(_context.Logger, _namespace, _name, slot.Spec.Name, reason, message);
            _context.Events.Record(_pod, slot.Spec.Name, EventRecorder.Warning, reason == "ErrImagePull" ? "Failed" : reason == "ContainerCreating" ? "FailedMount" : "Failed",
                reason == "ErrImagePull" ? $"Failed to pull image \"{slot.Spec.Image}\": {message}" : $"Error: {message}");
        }

        slot.Waiting = new V1ContainerStateWaiting { Reason = reason, Message = message };
        slot.NextStartAt = _context.Time.GetUtcNow().UtcDateTime + _context.ConfigRetryInterval;
    }

    private static string NewContainerId() => $"local://{Guid.NewGuid():N}";

    private PathMapper PathsFor(V1Container container)
    {
        var mappings = new List<(string, string)>();
        foreach (var mount in container.VolumeMounts ?? [])
        {
            if (_volumes is not null && _volumes.TryGetValue(mount.Name, out var local))
            {
                var target = string.IsNullOrEmpty(mount.SubPath) ? local : Path.Combine(local, mount.SubPath);
                Directory.CreateDirectory(target);
                mappings.Add((mount.MountPath, target));
            }
        }

        mappings.Add((container.TerminationMessagePath ?? "/dev/termination-log", _directory.TerminationMessageFile(container.Name)));
        return new PathMapper(mappings);
    }

    private string WorkingDirectory(V1Container container, PathMapper paths)
    {
        if (string.IsNullOrEmpty(container.WorkingDir))
        {
            return _directory.Path;
        }

        var directory = paths.MapPath(container.WorkingDir)
            ?? (Directory.Exists(container.WorkingDir) ? container.WorkingDir : Path.Combine(_directory.Path, "rootfs", container.WorkingDir.TrimStart('/')));
        Directory.CreateDirectory(directory);
        return directory;
    }

    private Dictionary<string, string> ProcessEnvironment(ImageDefinition image, IReadOnlyDictionary<string, string> podEnvironment)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in _context.Images.HostEnvironment)
        {
            if (Environment.GetEnvironmentVariable(name) is { } value)
            {
                environment[name] = value;
            }
        }

        environment["PATH"] = environment.GetValueOrDefault("PATH") ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        foreach (var (name, value) in image.Env)
        {
            environment[name] = value;
        }

        environment["HOSTNAME"] = PodHostname.Of(_pod);
        environment["HOME"] = _directory.Home;
        environment["TMPDIR"] = _directory.Temp;
        foreach (var (name, value) in _context.Node.ServiceEnvironment)
        {
            environment[name] = value;
        }

        foreach (var (name, value) in podEnvironment)
        {
            environment[name] = value;
        }

        // The pod network library goes first into LD_PRELOAD; what the host's or the pod's LD_PRELOAD named follows it.
        var preload = string.Join(' ', new[] { Environment.GetEnvironmentVariable(PodNetworkLibrary.PreloadVariable), environment.GetValueOrDefault(PodNetworkLibrary.PreloadVariable) }
            .Where(p => !string.IsNullOrWhiteSpace(p)));
        foreach (var (name, value) in _network!.Environment(preload))
        {
            environment[name] = value;
        }

        return environment;
    }

    /// <summary>Records the end of containers whose main process has exited.</summary>
    private void CollectExits()
    {
        foreach (var slot in _slots)
        {
            if (slot.Process is { Exited.IsCompleted: true } process)
            {
                var exitCode = process.Exited.Result;
                process.Dispose();
                slot.Process = null;
                TryDelete(_directory.PidFile(slot.Spec.Name));
                Log.ContainerExited(_context.Logger, _namespace, _name, slot.Spec.Name, exitCode);
                OnExited(slot, exitCode, exitCode == 0 ? "Completed" : "Error", null);
            }
        }
    }

    private void OnExited(ContainerSlot slot, int exitCode, string reason, string? message)
    {
        var container = slot.Spec;
        message ??= TerminationMessage.Read(
            _directory.TerminationMessageFile(container.Name),
            container.TerminationMessagePolicy,
            exitCode,
            _directory.LogFile(container.Name, slot.RestartCount));
        var finishedAt = Now;
        var terminated = new V1ContainerStateTerminated
        {
            ExitCode = exitCode,
            Reason = reason,
            Message = string.IsNullOrEmpty(message) ? null : message,
            StartedAt = slot.StartedAt,
            FinishedAt = finishedAt,
            ContainerID = slot.ContainerId,
        };

        var restart = !_terminating && slot.Kind switch
        {
            // A sidecar is restarted whatever the pod's policy, until the pod ends.
            ContainerKind.Sidecar => true,
            // An init container that completed is never run again; a failed one is, unless the policy is Never.
            ContainerKind.Init => exitCode != 0 && _pod.Spec.RestartPolicy != "Never",
            _ => (_pod.Spec.RestartPolicy ?? "Always") switch
            {
                "Never" => false,
                "OnFailure" => exitCode != 0,
                _ => true,
            },
        };
        if (!restart)
        {
            slot.Terminated = terminated;
            return;
        }

        slot.LastTerminated = terminated;
        slot.Terminated = null;
        var ranFor = finishedAt - (slot.StartedAt ?? finishedAt);
        if (slot.Backoff == TimeSpan.Zero || ranFor > 2 * _context.RestartBackoffMax)
        {
            // The kubelet restarts at once the first time, then backs off.
            slot.Backoff = _context.RestartBackoffInitial;
            slot.NextStartAt = null;
            slot.Waiting = null;
            return;
        }

        slot.NextStartAt = _context.Time.GetUtcNow().UtcDateTime + slot.Backoff;
        _context.Events.Record(_pod, container.Name, EventRecorder.Warning, "BackOff", "Back-off restarting failed container " + container.Name);
        slot.Waiting = new V1ContainerStateWaiting
        {
            Reason = "CrashLoopBackOff",
            Message = $"back-off {slot.Backoff.TotalSeconds:0}s restarting failed container={container.Name} pod={_name}_{_namespace}({Uid})",
        };
        slot.Backoff = TimeSpan.FromTicks(Math.Min(slot.Backoff.Ticks * 2, _context.RestartBackoffMax.Ticks));
    }

    private TimeSpan GracePeriod()
    {
        var seconds = _pod.Metadata.DeletionGracePeriodSeconds ?? _pod.Spec.TerminationGracePeriodSeconds ?? 30;
        var grace = TimeSpan.FromSeconds(seconds);
        return grace < _context.MinimumGracePeriod ? _context.MinimumGracePeriod : grace;
    }

    /// <summary>The pod got a deletionTimestamp: stop its containers, report how they ended, then remove the object.</summary>
    private async Task TerminateAsync(CancellationToken stop)
    {
        await StopContainersAsync(GracePeriod(), stop).ConfigureAwait(false);
        foreach (var slot in _slots.Where(s => s.Process is null && s.Terminated is null))
        {
            // Never started, or waiting to restart: the kubelet reports these as terminated with an unknown status.
            slot.Terminated = slot.LastTerminated ?? new V1ContainerStateTerminated
            {
                ExitCode = 137,
                Reason = ContainerStatusUnknown,
                Message = "The container could not be located when the pod was terminated",
                FinishedAt = Now,
            };
            slot.Waiting = null;
        }

        if (_removed)
        {
            return;
        }

        var phase = Phase(terminating: true);
        await WriteStatusAsync(phase, stop).ConfigureAwait(false);
        if (!_removed)
        {
            await _context.Api.DeletePodAsync(_namespace, _name, Uid, stop).ConfigureAwait(false);
            Log.PodDeleted(_context.Logger, _namespace, _name, Uid);
        }
    }

    /// <summary>
    /// SIGTERM to every running container's main process, SIGKILL to every process of those still running when the grace
    /// period ends. A later deletion with a shorter grace period shortens it, as on a real node. As the kubelet does with
    /// native sidecars (KEP-753), the main containers (and a running init container) are stopped first; then each
    /// sidecar, one at a time in reverse order, gets its SIGTERM once the containers before it have exited, with what
    /// is left of the grace period.
    /// </summary>
    private async Task StopContainersAsync(TimeSpan grace, CancellationToken stop)
    {
        _terminating = true;
        CollectExits();
        if (!_slots.Any(s => s.Process is not null))
        {
            return;
        }

        Log.Killing(_context.Logger, _namespace, _name, grace.TotalSeconds);
        var clock = new StopClock(_context.Time.GetUtcNow().UtcDateTime, grace);
        await StopGroupAsync([.. StartOrder.StoppedFirst(_slots)], clock, stop).ConfigureAwait(false);
        foreach (var sidecar in StartOrder.SidecarsInStopOrder(_slots))
        {
            await StopGroupAsync([sidecar], clock, stop).ConfigureAwait(false);
        }

        if (_slots.Any(s => s.Process is not null))
        {
            Log.GraceExpired(_context.Logger, _namespace, _name);
            foreach (var slot in _slots)
            {
                slot.Process?.Kill();
            }

            await Task.WhenAll(_slots.Where(s => s.Process is not null).Select(s => s.Process!.Exited)).WaitAsync(stop).ConfigureAwait(false);
            CollectExits();
        }
    }

    /// <summary>When a stop began and when its grace period ends (shortened by a later deletion).</summary>
    private sealed class StopClock(DateTime began, TimeSpan grace)
    {
        public DateTime Began { get; } = began;

        public DateTime Deadline { get; set; } = began + grace;
    }

    /// <summary>SIGTERM to the running ones of <paramref name="group"/>, then wait for them until the deadline.</summary>
    private async Task StopGroupAsync(IReadOnlyList<ContainerSlot> group, StopClock clock, CancellationToken stop)
    {
        var running = group.Where(s => s.Process is not null).ToList();
        if (running.Count == 0 || _context.Time.GetUtcNow().UtcDateTime >= clock.Deadline)
        {
            return;
        }

        foreach (var slot in running)
        {
            _context.Events.Record(_pod, slot.Spec.Name, EventRecorder.Normal, "Killing", $"Stopping container {slot.Spec.Name}");
            slot.Process!.Terminate();
        }

        while (running.Any(s => s.Process is not null) && _context.Time.GetUtcNow().UtcDateTime < clock.Deadline)
        {
            await WaitForChangeAsync(clock.Deadline, stop).ConfigureAwait(false);
            DrainUpdates();
            if (_pod.Metadata.DeletionGracePeriodSeconds is { } seconds)
            {
                var shorter = clock.Began + TimeSpan.FromSeconds(Math.Max(seconds, _context.MinimumGracePeriod.TotalSeconds));
                clock.Deadline = shorter < clock.Deadline ? shorter : clock.Deadline;
            }

            CollectExits();
            if (HasSidecars && !_removed)
            {
                // With sidecars the stop takes a while: say which containers have stopped as they do, as the kubelet does.
                await WriteStatusAsync(Phase(terminating: false), stop).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The agent is stopping: no container may outlive it.</summary>
    private async Task ShutdownAsync()
    {
        var running = _slots.Where(s => s.Process is not null).Select(s => s.Process!).ToArray();
        if (running.Length == 0)
        {
            return;
        }

        var graceful = _context.ShutdownGracePeriod > TimeSpan.Zero;
        foreach (var process in running)
        {
            _ = graceful ? process.Terminate() : process.Kill();
        }

        var exited = Task.WhenAll(running.Select(p => p.Exited));
        if (graceful && await Task.WhenAny(exited, Task.Delay(_context.ShutdownGracePeriod)).ConfigureAwait(false) != exited)
        {
            foreach (var process in running)
            {
                process.Kill();
            }
        }

        await exited.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
    }

    /// <summary>The pod has finished: wait until it is deleted (remove it at once) or gone.</summary>
    private async Task WaitForRemovalAsync(CancellationToken stop)
    {
        while (true)
        {
            DrainUpdates();
            if (_removed)
            {
                return;
            }

            if (_pod.Metadata.DeletionTimestamp is not null)
            {
                await _context.Api.DeletePodAsync(_namespace, _name, Uid, stop).ConfigureAwait(false);
                Log.PodDeleted(_context.Logger, _namespace, _name, Uid);
                return;
            }

            await _updates.Reader.WaitToReadAsync(stop).ConfigureAwait(false);
        }
    }

    /// <summary>Writes the kubelet's part of the status on the latest pod object (retrying conflicts and failures); a
    /// pod that is gone or replaced by a new uid marks this worker removed.</summary>
    private async Task WriteStatusAsync(string phase, CancellationToken stop)
    {
        if (_reportedPhase == phase && PodPhases.IsTerminal(_pod.Status?.Phase) == PodPhases.IsTerminal(phase)
            && PodStatusBuilder.SameAs(_pod.Status, PodStatusBuilder.Build(_pod.Status, Snapshots(), phase, _startTime ?? Now, _node.HostIP, _node.PodIP, Now, InitSnapshots())))
        {
            // The watch already shows this status: no need to read the pod to find that out.
            return;
        }

        var delay = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            try
            {
                var current = await _context.Api.GetPodAsync(_namespace, _name, stop).ConfigureAwait(false);
                if (current is null || current.Metadata.Uid != Uid)
                {
                    _removed = true;
                    return;
                }

                if (PodPhases.IsTerminal(current.Status?.Phase) && !PodPhases.IsTerminal(phase))
                {
                    // A terminal phase is never left.
                    return;
                }

                var status = PodStatusBuilder.Build(current.Status, Snapshots(), phase, _startTime ?? Now, _node.HostIP, _node.PodIP, Now, InitSnapshots());
                if (!PodStatusBuilder.SameAs(current.Status, status))
                {
                    current.Status = status;
                    await _context.Api.ReplaceStatusAsync(current, stop).ConfigureAwait(false);
                }

                if (_reportedPhase != phase)
                {
                    _reportedPhase = phase;
                    Log.PhaseChanged(_context.Logger, _namespace, _name, phase);
                }

                return;
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
            {
                // Someone else wrote the pod in between: read it again.
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
            {
                _removed = true;
                return;
            }
            catch (Exception e) when (e is HttpRequestException or HttpOperationException or IOException)
            {
                Log.StatusWriteFailed(_context.Logger, e, _namespace, _name);
                await Task.Delay(delay, _context.Time, stop).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
        }
    }

    /// <summary>Processes a previous run of the agent left behind (it was killed hard) are killed before anything runs.</summary>
    private void KillLeftovers()
    {
        foreach (var slot in _slots)
        {
            var pidFile = _directory.PidFile(slot.Spec.Name);
            if (!File.Exists(pidFile))
            {
                continue;
            }

            var parts = File.ReadAllText(pidFile).Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 2 && int.TryParse(parts[0], CultureInfo.InvariantCulture, out var pid)
                && long.TryParse(parts[1], CultureInfo.InvariantCulture, out var startTime)
                && ProcessGroup.ReadStartTime(pid) == startTime)
            {
                Libc.Kill(-pid, Libc.SIGKILL);
            }

            TryDelete(pidFile);
        }
    }

    /// <summary>
    /// A pod that already has container statuses was being run by an earlier agent: its containers cannot be found
    /// again, so running ones count as ended with an unknown status (exit 137), as the kubelet reports them.
    /// </summary>
    private void AdoptPreviousStatus()
    {
        foreach (var previous in (_pod.Status?.InitContainerStatuses ?? []).Concat(_pod.Status?.ContainerStatuses ?? []))
        {
            var slot = _slots.FirstOrDefault(s => s.Spec.Name == previous.Name);
            if (slot is null || (previous.State?.Running is null && previous.State?.Terminated is null))
            {
                continue;
            }

            slot.Image = _context.Images.Resolve(slot.Spec.Image);
            slot.EverStarted = true;
            slot.RestartCount = previous.RestartCount;
            slot.ContainerId = previous.ContainerID;
            slot.LastTerminated = previous.LastState?.Terminated;
            slot.EverStartedUp = previous.Started == true || previous.LastState?.Terminated is not null;
            _startTime = _pod.Status?.StartTime;
            if (previous.State.Terminated is { } terminated)
            {
                slot.Terminated = terminated;
                continue;
            }

            slot.StartedAt = previous.State.Running!.StartedAt;
            OnExited(slot, 137, ContainerStatusUnknown, "The container could not be located when the pod was terminated");
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: a stale pid file is checked against the process start time anyway.
        }
    }
}
