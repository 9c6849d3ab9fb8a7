using K8sTraining.Contract;
using K8sTraining.Training.Options;
using K8sTraining.Training.Tasks;

namespace K8sTraining.Training.Data;

/// <summary>The built-in data sets by name (<c>--dataset</c>), as the splits a <see cref="TrainingTask"/> trains on.</summary>
public static class DatasetCatalog
{
    public static TrainingData Load(TrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.Dataset switch
        {
            DatasetNames.ImageFolder => ImageFolderLoader.Load(options),
            DatasetNames.CsvImages => CsvImagesLoader.Load(options),
            _ => DatasetLoader.LoadData(options),
        };
    }
}
