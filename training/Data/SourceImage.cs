namespace K8sTraining.Training.Data;

/// <summary>
/// One image as read from its source, before any transform: <paramref name="Pixels"/> holds
/// <paramref name="Channels"/> x <paramref name="Height"/> x <paramref name="Width"/> floats, channel-major, in the
/// source's own scale (pixel data: 0 to 1). The array may be longer (it may come from a pool).
/// </summary>
public readonly record struct SourceImage(float[] Pixels, int Channels, int Height, int Width)
{
    public int Length => Channels * Height * Width;
}
