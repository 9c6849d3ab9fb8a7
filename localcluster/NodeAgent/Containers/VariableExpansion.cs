using System.Text;

namespace K8sTraining.NodeAgent.Containers;

/// <summary>
/// Kubernetes' $(VAR) expansion for env values, command and args: `$(NAME)` becomes the value when NAME is defined and
/// stays as written otherwise, `$$` is an escaped `$`, and any other `$` is kept.
/// </summary>
public static class VariableExpansion
{
    public static string Expand(string input, Func<string, string?> lookup)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (!input.Contains('$', StringComparison.Ordinal))
        {
            return input;
        }

        var output = new StringBuilder(input.Length);
        var checkpoint = 0;
        for (var cursor = 0; cursor < input.Length; cursor++)
        {
            if (input[cursor] != '$' || cursor + 1 >= input.Length)
            {
                continue;
            }

            output.Append(input, checkpoint, cursor - checkpoint);
            var (read, isVariable, advance) = ReadVariableName(input.AsSpan(cursor + 1));
            if (isVariable)
            {
                output.Append(lookup(read) ?? $"$({read})");
            }
            else
            {
                output.Append(read);
            }

            cursor += advance;
            checkpoint = cursor + 1;
        }

        output.Append(input, checkpoint, input.Length - checkpoint);
        return output.ToString();
    }

    public static string Expand(string input, IReadOnlyDictionary<string, string> variables) =>
        Expand(input, name => variables.TryGetValue(name, out var value) ? value : null);

    private static (string Read, bool IsVariable, int Advance) ReadVariableName(ReadOnlySpan<char> input)
    {
        switch (input[0])
        {
            case '$':
                return ("$", false, 1);
            case '(':
                for (var i = 1; i < input.Length; i++)
                {
                    if (input[i] == ')')
                    {
                        return (input[1..i].ToString(), true, i + 1);
                    }
                }

                return ("$(", false, 1);
            default:
                return ("$" + input[0], false, 1);
        }
    }
}
