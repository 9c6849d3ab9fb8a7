using K8sTraining.LocalCluster.Hosting;

return await ServeCommand.RunAsync(args);
