using System.Reflection;
using Minio;
using Minio.DataModel.Args;
using Minio.DataModel.Response;

namespace K8sTraining.Trainer.Storage;

/// <summary>
/// S3's multipart initiate, complete and abort calls, through the Minio 7 client.
/// </summary>
/// <remarks>
/// Minio 7.0.0 has these calls but keeps them private and uploads parts one after another inside PutObjectAsync; one
/// stream is too slow for a large checkpoint in a spot notice. This binds to those private members once, by name and
/// signature (the package version is pinned centrally); the parts themselves go up in parallel through presigned URLs
/// (see <see cref="SigV4Presigner"/>). When a future Minio changes these members, <see cref="IsAvailable"/> turns false
/// and the store falls back to the public, sequential PutObjectAsync with a warning rather than failing.
/// </remarks>
internal static class MinioMultipart
{
    private const BindingFlags Any = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance;

    private static readonly (Binding? Binding, string? Reason) Bind = TryBind();

    private static Binding? Bound => Bind.Binding;

    public static bool IsAvailable => Bound is not null;

    public static string? UnavailableReason => Bind.Reason;

    public static async Task<string> InitiateAsync(IMinioClient client, string bucket, string key, IDictionary<string, string> metadata, CancellationToken cancellationToken)
    {
        var b = Bound ?? throw new InvalidOperationException(UnavailableReason);
        var args = Activator.CreateInstance(b.NewUploadArgsType)!;
        args = Call(b.NewUploadArgsType, args, "WithBucket", bucket);
        args = Call(b.NewUploadArgsType, args, "WithObject", key);
        args = Call(b.NewUploadArgsType, args, "WithHeaders", metadata);
        return await Invoke<string>(b.Initiate, client, args, cancellationToken).ConfigureAwait(false);
    }

    public static async Task<string?> CompleteAsync(IMinioClient client, string bucket, string key, string uploadId, IDictionary<int, string> etags, CancellationToken cancellationToken)
    {
        var b = Bound ?? throw new InvalidOperationException(UnavailableReason);
        var args = b.CompleteArgsCtor.Invoke(null);
        args = Call(b.CompleteArgsType, args, "WithBucket", bucket);
        args = Call(b.CompleteArgsType, args, "WithObject", key);
        args = Call(b.CompleteArgsType, args, "WithUploadId", uploadId);
        args = Call(b.CompleteArgsType, args, "WithETags", etags);
        var response = await Invoke<PutObjectResponse>(b.Complete, client, args, cancellationToken).ConfigureAwait(false);
        return response.Etag;
    }

    public static async Task AbortAsync(IMinioClient client, string bucket, string key, string uploadId, CancellationToken cancellationToken)
    {
        var b = Bound ?? throw new InvalidOperationException(UnavailableReason);
        var args = new RemoveUploadArgs().WithBucket(bucket).WithObject(key).WithUploadId(uploadId);
        var task = (Task)b.Abort.Invoke(client, [args, cancellationToken])!;
        await task.ConfigureAwait(false);
    }

    private static object Call(Type type, object target, string name, object value)
    {
        var method = type.GetMethods(Any).FirstOrDefault(m => m.Name == name && m.GetParameters().Length == 1 && m.GetParameters()[0].ParameterType.IsInstanceOfType(value))
            ?? throw new MissingMethodException(type.FullName, name);
        return method.Invoke(target, [value])!;
    }

    private static async Task<T> Invoke<T>(MethodInfo method, IMinioClient client, object args, CancellationToken cancellationToken, params object[] extra)
    {
        try
        {
            var task = (Task<T>)method.Invoke(client, [args, cancellationToken, .. extra])!;
            return await task.ConfigureAwait(false);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }
    }

    private sealed record Binding(
        Type NewUploadArgsType, MethodInfo Initiate,
        Type CompleteArgsType, ConstructorInfo CompleteArgsCtor, MethodInfo Complete,
        MethodInfo Abort);

    private static (Binding?, string?) TryBind()
    {
        try
        {
            var asm = typeof(MinioClient).Assembly;
            var client = typeof(MinioClient);
            var newArgs = asm.GetType("Minio.DataModel.Args.NewMultipartUploadPutArgs", throwOnError: true)!;
            var completeArgs = asm.GetType("Minio.DataModel.Args.CompleteMultipartUploadArgs", throwOnError: true)!;
            MethodInfo Method(Type t, string name, params Type[] parameters) =>
                t.GetMethod(name, Any, null, parameters, null) ?? throw new MissingMethodException(t.FullName, name);
            var binding = new Binding(
                newArgs,
                Method(client, "NewMultipartUploadAsync", newArgs, typeof(CancellationToken)),
                completeArgs,
                completeArgs.GetConstructor(Any, Type.EmptyTypes) ?? throw new MissingMethodException(completeArgs.FullName, ".ctor"),
                Method(client, "CompleteMultipartUploadAsync", completeArgs, typeof(CancellationToken)),
                Method(client, "RemoveUploadAsync", typeof(RemoveUploadArgs), typeof(CancellationToken)));
            if (binding.Initiate.ReturnType != typeof(Task<string>)
                || binding.Complete.ReturnType != typeof(Task<PutObjectResponse>))
            {
                return (null, "Minio's multipart members changed their return types.");
            }
            return (binding, null);
        }
        catch (Exception e) when (e is TypeLoadException or MissingMemberException or AmbiguousMatchException)
        {
            return (null, $"Minio {typeof(MinioClient).Assembly.GetName().Version} does not have the multipart members this build binds to ({e.Message}).");
        }
    }
}
