Console.WriteLine("K8sTraining operator");
