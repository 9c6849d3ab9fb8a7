using K8sTraining.Training.Data;
using K8sTraining.Training.Models;
using K8sTraining.Training.Options;

namespace K8sTraining.Training.Tasks;

/// <summary>The task the trainer command line runs: the built-in model and data set the flags name.</summary>
public static class BuiltInTask
{
    public static TrainingTask From(TrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new TrainingTask
        {
            ModelName = options.Model,
            DatasetName = options.Dataset,
            LoadData = () => DatasetCatalog.Load(options),
            LoadDataAtImageSize = size => DatasetCatalog.Load(options with { ImageSize = size }),
            CreateModel = data => ModelCatalog.Create(options, data.Train),
        };
    }
}
