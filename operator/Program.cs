using K8sTraining.Operator.Runtime;

if (OperatorOptions.IsHelpRequest(args))
{
    Console.Write(OperatorOptions.Usage());
    return 0;
}

OperatorOptions options;
try
{
    options = OperatorOptions.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"k8s-training operator: {e.Message}");
    return 2;
}

var builder = WebApplication.CreateSlimBuilder();
builder.WebHost.UseUrls($"http://0.0.0.0:{options.HttpPort}");
builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; });
builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(10));
builder.Services.AddTrainingJobOperator(options);

var app = builder.Build();
app.MapOperatorEndpoints();
await app.RunAsync();
return Environment.ExitCode;
