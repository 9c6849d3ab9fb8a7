using K8sTraining.CheckpointSync.Hosting;

// checkpoint-sync: configured by the TRAINER_* and AWS_* environment only (docs/trainer-contract.md).
return await CheckpointSyncApp.RunAsync(args, Environment.GetEnvironmentVariable);
