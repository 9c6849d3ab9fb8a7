using K8sTraining.NodeAgent.Images;
using k8s.Models;

namespace K8sTraining.NodeAgent.Containers;

/// <summary>The argv a container runs: Kubernetes' command/args rules over the image's ENTRYPOINT/CMD.</summary>
public static class ContainerCommand
{
    public static IReadOnlyList<string> Build(V1Container container, ImageDefinition image, IReadOnlyDictionary<string, string> environment, PathMapper paths)
    {
        IEnumerable<string> Expand(IEnumerable<string> values) =>
            values.Select(v => VariableExpansion.Expand(paths.Rewrite(v), environment));

        var command = container.Command ?? [];
        var args = container.Args ?? [];
        if (command.Count > 0)
        {
            return Expand(command).Concat(Expand(args)).ToArray();
        }

        if (args.Count > 0)
        {
            return image.Entrypoint.Concat(Expand(args)).ToArray();
        }

        return image.Entrypoint.Concat(image.Cmd).ToArray();
    }
}
