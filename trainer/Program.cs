Console.WriteLine("K8sTraining trainer");
