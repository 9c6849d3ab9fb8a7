using k8s.Models;

namespace K8sTraining.Deploy.Tests.Chart;

/// <summary>
/// The checks of the Kubernetes "restricted" Pod Security Standard (v1.26+) that the admission controller applies to a
/// pod spec, each violation as a line a person can act on.
/// </summary>
public static class RestrictedProfile
{
    private static readonly HashSet<string> AllowedVolumeTypes =
        ["ConfigMap", "Csi", "DownwardAPI", "EmptyDir", "Ephemeral", "PersistentVolumeClaim", "Projected", "Secret"];

    public static IReadOnlyList<string> Violations(V1PodSpec pod)
    {
        var violations = new List<string>();
        if (pod.HostNetwork == true || pod.HostPID == true || pod.HostIPC == true)
        {
            violations.Add("host namespaces are shared");
        }

        foreach (var volume in pod.Volumes ?? [])
        {
            var used = typeof(V1Volume).GetProperties()
                .Where(p => p.Name != nameof(V1Volume.Name) && p.GetValue(volume) is not null)
                .Select(p => p.Name);
            violations.AddRange(used.Where(t => !AllowedVolumeTypes.Contains(t)).Select(t => $"volume {volume.Name} is of type {t}"));
        }

        var podContext = pod.SecurityContext;
        foreach (var container in (pod.InitContainers ?? []).Concat(pod.Containers))
        {
            var context = container.SecurityContext;
            var name = container.Name;
            if (context?.Privileged == true)
            {
                violations.Add($"{name}: privileged");
            }

            if (context?.AllowPrivilegeEscalation != false)
            {
                violations.Add($"{name}: allowPrivilegeEscalation is not false");
            }

            if (context?.Capabilities?.Drop?.Contains("ALL") != true)
            {
                violations.Add($"{name}: capabilities do not drop ALL");
            }

            if ((context?.Capabilities?.Add ?? []).Any(c => c != "NET_BIND_SERVICE"))
            {
                violations.Add($"{name}: adds capabilities other than NET_BIND_SERVICE");
            }

            if ((context?.RunAsNonRoot ?? podContext?.RunAsNonRoot) != true)
            {
                violations.Add($"{name}: runAsNonRoot is not true");
            }

            if ((context?.RunAsUser ?? podContext?.RunAsUser) == 0)
            {
                violations.Add($"{name}: runAsUser is 0");
            }

            var seccomp = context?.SeccompProfile?.Type ?? podContext?.SeccompProfile?.Type;
            if (seccomp is not ("RuntimeDefault" or "Localhost"))
            {
                violations.Add($"{name}: seccompProfile is {seccomp ?? "unset"}");
            }

            if ((container.Ports ?? []).Any(p => p.HostPort is > 0))
            {
                violations.Add($"{name}: uses a hostPort");
            }
        }

        return violations;
    }
}
