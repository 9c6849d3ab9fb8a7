using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace K8sTraining.LocalCluster.Api;

/// <summary>
/// k8s.io/apimachinery's name, label and qualified-name checks (IsDNS1123Subdomain, IsDNS1123Label, IsDNS1035Label,
/// IsQualifiedName, IsValidLabelValue, IsEnvVarName) with the real server's messages, and ValidateObjectMeta's use of them.
/// </summary>
public static partial class ObjectMetaValidation
{
    public const int SubdomainMaxLength = 253;

    public const int LabelMaxLength = 63;

    /// <summary>How a kind's names are checked, as its registry strategy does.</summary>
    public enum NameRule
    {
        /// <summary>Most kinds (pods, secrets, custom resources): an RFC 1123 subdomain of at most 253 characters.</summary>
        Subdomain,

        /// <summary>Namespaces: an RFC 1123 label of at most 63 characters.</summary>
        Label,

        /// <summary>Services: an RFC 1035 label (starts with a letter) of at most 63 characters.</summary>
        Dns1035Label,
    }

    public static IEnumerable<string> IsDns1123Subdomain(string value)
    {
        if (value.Length > SubdomainMaxLength)
        {
            yield return MaxLen(SubdomainMaxLength);
        }

        if (!DnsSubdomain().IsMatch(value))
        {
            yield return "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
        }
    }

    public static IEnumerable<string> IsDns1123Label(string value)
    {
        if (value.Length > LabelMaxLength)
        {
            yield return MaxLen(LabelMaxLength);
        }

        if (!DnsLabel().IsMatch(value))
        {
            yield return "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
        }
    }

    public static IEnumerable<string> IsDns1035Label(string value)
    {
        if (value.Length > LabelMaxLength)
        {
            yield return MaxLen(LabelMaxLength);
        }

        if (!Dns1035Label().IsMatch(value))
        {
            yield return "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
        }
    }

    /// <summary>A label or annotation key: an optional DNS subdomain prefix and '/', then a name of at most 63 characters.</summary>
    public static IEnumerable<string> IsQualifiedName(string value)
    {
        var parts = value.Split('/');
        string name;
        switch (parts.Length)
        {
            case 1:
                name = parts[0];
                break;
            case 2:
                name = parts[1];
                if (parts[0].Length == 0)
                {
                    yield return "prefix part must be non-empty";
                }
                else
                {
                    foreach (var msg in IsDns1123Subdomain(parts[0]))
                    {
                        yield return "prefix part " + msg;
                    }
                }

                break;
            default:
                yield return "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')";
                yield break;
        }

        if (name.Length == 0)
        {
            yield return "name part must be non-empty";
        }
        else if (name.Length > LabelMaxLength)
        {
            yield return "name part " + MaxLen(LabelMaxLength);
        }

        if (!QualifiedNamePart().IsMatch(name))
        {
            yield return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
        }
    }

    public static IEnumerable<string> IsValidLabelValue(string value)
    {
        if (value.Length > LabelMaxLength)
        {
            yield return MaxLen(LabelMaxLength);
        }

        if (!LabelValue().IsMatch(value))
        {
            yield return "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
        }
    }

    public static IEnumerable<string> IsEnvVarName(string value)
    {
        if (!EnvVarName().IsMatch(value))
        {
            yield return "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')";
        }

        if (value is "." or "..")
        {
            yield return "must not be '.'";
        }
        else if (value.StartsWith("..", StringComparison.Ordinal))
        {
            yield return "must not start with '..'";
        }
    }

    /// <summary>ValidateObjectMeta's name and label checks for an object about to be stored.</summary>
    public static List<FieldError> Validate(JsonObject meta, NameRule rule, bool checkName)
    {
        var errors = new List<FieldError>();
        var name = (string?)meta["name"] ?? "";
        if (checkName)
        {
            var problems = rule switch
            {
                NameRule.Label => IsDns1123Label(name),
                NameRule.Dns1035Label => IsDns1035Label(name),
                _ => IsDns1123Subdomain(name),
            };
            errors.AddRange(problems.Select(p => FieldError.Invalid("metadata.name", name, p)));
        }

        errors.AddRange(Labels(meta["labels"] as JsonObject, "metadata.labels"));
        if (meta["annotations"] is JsonObject annotations)
        {
            foreach (var (key, _) in annotations)
            {
                errors.AddRange(IsQualifiedName(key.ToLowerInvariant()).Select(p => FieldError.Invalid("metadata.annotations", key, p)));
            }
        }

        return errors;
    }

    /// <summary>ValidateLabels: each key a qualified name, each value a label value.</summary>
    public static IEnumerable<FieldError> Labels(JsonObject? labels, string path)
    {
        if (labels is null)
        {
            yield break;
        }

        foreach (var (key, value) in labels)
        {
            foreach (var p in IsQualifiedName(key))
            {
                yield return FieldError.Invalid(path, key, p);
            }

            var text = value is JsonValue v && v.TryGetValue<string>(out var s) ? s : value?.ToJsonString() ?? "";
            foreach (var p in IsValidLabelValue(text))
            {
                yield return FieldError.Invalid(path, text, p);
            }
        }
    }

    private static string MaxLen(int n) => $"must be no more than {n} characters";

    [GeneratedRegex(@"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\z")]
    private static partial Regex DnsSubdomain();

    [GeneratedRegex(@"^[a-z0-9]([-a-z0-9]*[a-z0-9])?\z")]
    private static partial Regex DnsLabel();

    [GeneratedRegex(@"^[a-z]([-a-z0-9]*[a-z0-9])?\z")]
    private static partial Regex Dns1035Label();

    [GeneratedRegex(@"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]\z")]
    private static partial Regex QualifiedNamePart();

    [GeneratedRegex(@"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?\z")]
    private static partial Regex LabelValue();

    [GeneratedRegex(@"^[-._a-zA-Z][-._a-zA-Z0-9]*\z")]
    private static partial Regex EnvVarName();
}
