using K8sTraining.Training.Hosting;

// The trainer command line: the training library with its built-in models and data sets (--model, --dataset).
return await TrainerApp.RunAsync(args);
