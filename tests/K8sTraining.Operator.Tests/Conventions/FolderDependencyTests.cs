using System.Reflection;
using System.Reflection.Emit;
using K8sTraining.Operator.Reconciliation;

namespace K8sTraining.Operator.Tests.Conventions;

/// <summary>
/// The operator's folders depend one way: Api &lt;- Pods &lt;- Reconciliation &lt;- Metrics &lt;- Runtime &lt;- host
/// (Program). Every type reference in the compiled operator counts: base types, interfaces, fields, properties,
/// signatures, attributes, and what method bodies (lambdas and async state machines included) touch, read from their
/// IL, so a static call or a `new` of another folder's type is seen as well as a constructor parameter.
/// </summary>
[Trait("Category", "Unit")]
public sealed class FolderDependencyTests
{
    private const string Root = "K8sTraining.Operator";

    /// <summary>Where each folder sits; a folder may depend only on folders before it.</summary>
    private static readonly string[] Layers = ["Api", "Pods", "Reconciliation", "Metrics", "Runtime", "host"];

    private static readonly Dictionary<short, OpCode> OneByte = new();
    private static readonly Dictionary<short, OpCode> TwoByte = new();

    static FolderDependencyTests()
    {
        foreach (var field in typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static))
        {
            var code = (OpCode)field.GetValue(null)!;
            (code.Size == 1 ? OneByte : TwoByte)[code.Value] = code;
        }
    }

    [Fact]
    public void OperatorFolders_Should_HaveNoDependencyCycle_When_EveryTypeReferenceIsCounted()
    {
        var graph = FolderGraph(typeof(TrainingJobDecider).Assembly);

        var cycles = Cycles(graph.ToDictionary(g => g.Key, g => (IReadOnlyCollection<string>)g.Value.Keys));

        Assert.True(Layers.Take(5).All(graph.ContainsKey), $"expected the folders {string.Join(", ", Layers)}; found {string.Join(", ", graph.Keys)}");
        Assert.True(cycles.Count == 0, "dependency cycles between operator folders:\n" + string.Join("\n", cycles.Select(c => Explain(c, graph))));
    }

    [Fact]
    public void OperatorFolders_Should_DependOnlyOnEarlierLayers_When_Compiled()
    {
        var graph = FolderGraph(typeof(TrainingJobDecider).Assembly);

        var backwards = graph
            .SelectMany(from => from.Value.Where(to => Array.IndexOf(Layers, to.Key) >= Array.IndexOf(Layers, from.Key))
                .Select(to => $"{from.Key} -> {to.Key}: {to.Value}"))
            .ToList();

        Assert.True(backwards.Count == 0, $"folders must depend only on earlier ones ({string.Join(" <- ", Layers)}):\n" + string.Join("\n", backwards));
    }

    [Theory]
    [InlineData("no edges", "", "")]
    [InlineData("a chain", "A>B B>C", "")]
    [InlineData("two folders on each other", "A>B B>A", "A>B>A")]
    [InlineData("a loop through three", "A>B B>C C>A D>A", "A>B>C>A")]
    [InlineData("a diamond", "A>B A>C B>D C>D", "")]
    public void Cycles_Should_FindEveryCycle_When_GivenAGraph(string because, string edges, string expected)
    {
        var graph = edges.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(e => e.Split('>'))
            .GroupBy(e => e[0], e => e[1])
            .ToDictionary(g => g.Key, g => (IReadOnlyCollection<string>)g.ToList());

        var found = Cycles(graph).Select(c => string.Join(">", c.Append(c[0]))).ToList();

        Assert.True(string.Join(" ", found) == expected, $"{because}: found [{string.Join(" ", found)}]");
    }

    /// <summary>Folder -> folder it uses -> one example reference ("Type uses Type").</summary>
    private static Dictionary<string, Dictionary<string, string>> FolderGraph(Assembly assembly)
    {
        var graph = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        foreach (var type in assembly.GetTypes())
        {
            if (FolderOf(type) is not { } from)
            {
                continue;
            }

            var edges = graph.TryGetValue(from, out var e) ? e : graph[from] = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var used in References(type).SelectMany(Expand))
            {
                if (FolderOf(used) is { } to && to != from)
                {
                    edges.TryAdd(to, $"{Outermost(type).FullName} uses {used.FullName}");
                }
            }
        }

        return graph;
    }

    /// <summary>The folder a type of the operator lives in (its namespace below the root; "host" for the root and Program), or null.</summary>
    private static string? FolderOf(Type type)
    {
        var outer = Outermost(type);
        if (outer.Assembly != typeof(TrainingJobDecider).Assembly)
        {
            return null;
        }

        var ns = outer.Namespace;
        if (ns is null)
        {
            return outer.Name == "Program" ? "host" : null;
        }

        if (ns == Root)
        {
            return "host";
        }

        return ns.StartsWith(Root + ".", StringComparison.Ordinal) ? ns[(Root.Length + 1)..].Split('.')[0] : null;
    }

    private static Type Outermost(Type type)
    {
        while (type.DeclaringType is { } outer)
        {
            type = outer;
        }

        return type;
    }

    /// <summary>A type and the types it is built from (generic arguments, element types).</summary>
    private static IEnumerable<Type> Expand(Type type)
    {
        if (type.HasElementType && type.GetElementType() is { } element)
        {
            foreach (var t in Expand(element))
            {
                yield return t;
            }

            yield break;
        }

        if (type.IsGenericParameter)
        {
            yield break;
        }

        yield return type;
        if (type.IsGenericType)
        {
            foreach (var argument in type.GetGenericArguments().SelectMany(Expand))
            {
                yield return argument;
            }
        }
    }

    private static IEnumerable<Type> References(Type type)
    {
        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        if (type.BaseType is { } b)
        {
            yield return b;
        }

        foreach (var i in type.GetInterfaces())
        {
            yield return i;
        }

        foreach (var a in type.GetCustomAttributesData())
        {
            yield return a.AttributeType;
        }

        foreach (var f in type.GetFields(all))
        {
            yield return f.FieldType;
        }

        foreach (var p in type.GetProperties(all))
        {
            yield return p.PropertyType;
        }

        foreach (var e in type.GetEvents(all))
        {
            if (e.EventHandlerType is { } handler)
            {
                yield return handler;
            }
        }

        foreach (var method in type.GetMethods(all).Cast<MethodBase>().Concat(type.GetConstructors(all)))
        {
            if (method is MethodInfo m)
            {
                yield return m.ReturnType;
            }

            foreach (var p in method.GetParameters())
            {
                yield return p.ParameterType;
            }

            foreach (var t in BodyReferences(method))
            {
                yield return t;
            }
        }
    }

    /// <summary>The types a method body touches: every type, field and method token in its IL.</summary>
    private static IEnumerable<Type> BodyReferences(MethodBase method)
    {
        var body = method.GetMethodBody();
        var il = body?.GetILAsByteArray();
        if (body is null || il is null)
        {
            yield break;
        }

        foreach (var local in body.LocalVariables)
        {
            yield return local.LocalType;
        }

        var typeArguments = method.DeclaringType?.IsGenericType == true ? method.DeclaringType.GetGenericArguments() : null;
        var methodArguments = method.IsGenericMethod ? method.GetGenericArguments() : null;
        var i = 0;
        while (i < il.Length)
        {
            OpCode code;
            if (il[i] == 0xFE)
            {
                code = TwoByte[unchecked((short)(0xFE00 | il[i + 1]))];
                i += 2;
            }
            else
            {
                code = OneByte[il[i]];
                i += 1;
            }

            var operandSize = code.OperandType switch
            {
                OperandType.InlineNone => 0,
                OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
                OperandType.InlineVar => 2,
                OperandType.InlineI8 or OperandType.InlineR => 8,
                OperandType.InlineSwitch => 4 + (4 * BitConverter.ToInt32(il, i)),
                _ => 4,
            };
            if (code.OperandType is OperandType.InlineType or OperandType.InlineTok or OperandType.InlineMethod or OperandType.InlineField)
            {
                var token = BitConverter.ToInt32(il, i);
                foreach (var t in Resolve(method.Module, token, typeArguments, methodArguments))
                {
                    yield return t;
                }
            }

            i += operandSize;
        }
    }

    private static IEnumerable<Type> Resolve(Module module, int token, Type[]? typeArguments, Type[]? methodArguments)
    {
        MemberInfo? member;
        try
        {
            member = module.ResolveMember(token, typeArguments, methodArguments);
        }
        catch (ArgumentException)
        {
            yield break;
        }

        switch (member)
        {
            case Type t:
                yield return t;
                break;
            case FieldInfo f:
                yield return f.DeclaringType!;
                yield return f.FieldType;
                break;
            case MethodBase m:
                if (m.DeclaringType is { } declaring)
                {
                    yield return declaring;
                }

                if (m is MethodInfo info)
                {
                    yield return info.ReturnType;
                    if (info.IsGenericMethod)
                    {
                        foreach (var a in info.GetGenericArguments())
                        {
                            yield return a;
                        }
                    }
                }

                foreach (var p in m.GetParameters())
                {
                    yield return p.ParameterType;
                }

                break;
        }
    }

    /// <summary>Every elementary cycle's folders, each once, starting from its smallest folder name.</summary>
    private static List<string[]> Cycles(IReadOnlyDictionary<string, IReadOnlyCollection<string>> graph)
    {
        var found = new List<string[]>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var nodes = graph.Keys.Concat(graph.Values.SelectMany(v => v)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        foreach (var start in nodes)
        {
            Walk(start, [start]);

            void Walk(string at, List<string> path)
            {
                foreach (var next in graph.TryGetValue(at, out var n) ? n.Order(StringComparer.Ordinal) : Enumerable.Empty<string>())
                {
                    if (next == start)
                    {
                        if (seen.Add(string.Join(">", path)))
                        {
                            found.Add([.. path]);
                        }
                    }
                    else if (string.CompareOrdinal(next, start) > 0 && !path.Contains(next))
                    {
                        Walk(next, [.. path, next]);
                    }
                }
            }
        }

        return found;
    }

    private static string Explain(string[] cycle, Dictionary<string, Dictionary<string, string>> graph) =>
        string.Join(" -> ", cycle.Append(cycle[0])) + "\n" + string.Join("\n", cycle.Select((from, k) => $"    {graph[from][cycle[(k + 1) % cycle.Length]]}"));
}
