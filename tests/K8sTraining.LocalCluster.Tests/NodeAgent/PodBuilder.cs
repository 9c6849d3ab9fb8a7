using k8s.Models;

namespace K8sTraining.LocalCluster.Tests.NodeAgent;

/// <summary>Fluent builder for test pods: `PodBuilder.Shell("exit 3").WithRestartPolicy("Never").Build()`.</summary>
internal sealed class PodBuilder
{
    private readonly V1Pod _pod;

    private PodBuilder(string name, V1Container container)
    {
        _pod = new V1Pod
        {
            ApiVersion = "v1",
            Kind = "Pod",
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "default", Labels = new Dictionary<string, string>() },
            Spec = new V1PodSpec { RestartPolicy = "Never", Containers = [container], Volumes = [] },
        };
    }

    private V1Container Container => _pod.Spec.Containers[0];

    public string Name => _pod.Metadata.Name;

    public static string UniqueName(string prefix) => $"{prefix}-{Guid.NewGuid().ToString("N")[..8]}";

    /// <summary>A busybox container whose command is `/bin/sh -c script`.</summary>
    public static PodBuilder Shell(string script, string prefix = "shell") => new(UniqueName(prefix), new V1Container
    {
        Name = "main",
        Image = "busybox:1.36",
        Command = ["/bin/sh", "-c", script],
        Env = [],
    });

    public static PodBuilder Image(string image, string prefix, params string[] args) => new(UniqueName(prefix), new V1Container
    {
        Name = "main",
        Image = image,
        Args = args,
        Env = [],
    });

    public PodBuilder WithCommand(params string[] command)
    {
        Container.Command = command;
        return this;
    }

    public PodBuilder WithRestartPolicy(string policy)
    {
        _pod.Spec.RestartPolicy = policy;
        return this;
    }

    public PodBuilder WithGracePeriod(long seconds)
    {
        _pod.Spec.TerminationGracePeriodSeconds = seconds;
        return this;
    }

    public PodBuilder WithLabel(string key, string value)
    {
        _pod.Metadata.Labels[key] = value;
        return this;
    }

    public PodBuilder WithEnv(string name, string value)
    {
        Container.Env.Add(new V1EnvVar { Name = name, Value = value });
        return this;
    }

    public PodBuilder WithEnv(string name, V1EnvVarSource source)
    {
        Container.Env.Add(new V1EnvVar { Name = name, ValueFrom = source });
        return this;
    }

    public PodBuilder WithFieldEnv(string name, string fieldPath) =>
        WithEnv(name, new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = fieldPath } });

    public PodBuilder WithEmptyDir(string volume, string mountPath)
    {
        _pod.Spec.Volumes.Add(new V1Volume { Name = volume, EmptyDir = new V1EmptyDirVolumeSource() });
        Container.VolumeMounts ??= [];
        Container.VolumeMounts.Add(new V1VolumeMount { Name = volume, MountPath = mountPath });
        return this;
    }

    public PodBuilder WithHostPath(string volume, string hostPath, string mountPath)
    {
        _pod.Spec.Volumes.Add(new V1Volume { Name = volume, HostPath = new V1HostPathVolumeSource { Path = hostPath, Type = "DirectoryOrCreate" } });
        Container.VolumeMounts ??= [];
        Container.VolumeMounts.Add(new V1VolumeMount { Name = volume, MountPath = mountPath });
        return this;
    }

    public PodBuilder WithInitContainer(string name, string script)
    {
        _pod.Spec.InitContainers ??= [];
        _pod.Spec.InitContainers.Add(new V1Container { Name = name, Image = "busybox", Command = ["/bin/sh", "-c", script] });
        return this;
    }

    /// <summary>A native sidecar (restartPolicy Always) running `/bin/sh -c script`, with the `test -f` startup probe when given a file.</summary>
    public PodBuilder WithSidecar(string name, string script, string? startupFile = null)
    {
        _pod.Spec.InitContainers ??= [];
        _pod.Spec.InitContainers.Add(new V1Container
        {
            Name = name,
            Image = "busybox",
            Command = ["/bin/sh", "-c", script],
            RestartPolicy = "Always",
            StartupProbe = startupFile is null ? null : new V1Probe { Exec = new V1ExecAction { Command = ["test", "-f", startupFile] }, PeriodSeconds = 1, FailureThreshold = 600 },
        });
        return this;
    }

    public PodBuilder WithTerminationMessagePolicy(string policy)
    {
        Container.TerminationMessagePolicy = policy;
        return this;
    }

    public V1Pod Build() => _pod;
}
