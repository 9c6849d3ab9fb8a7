Console.WriteLine("K8sTraining local cluster");
