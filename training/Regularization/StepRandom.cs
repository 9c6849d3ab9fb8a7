namespace K8sTraining.Training.Regularization;

/// <summary>
/// The random numbers of one optimizer step's batch mixing, seeded by (seed, global step): a resumed run draws exactly
/// what the uninterrupted run drew at that step, with no generator state to save.
/// </summary>
public sealed class StepRandom(long seed, long globalStep)
{
    private Tasks.SampleRandom _random = new(seed ^ 0x6D69_7875_7043_7574L, (int)(globalStep >> 31), (int)(globalStep & int.MaxValue));

    public double NextDouble() => _random.NextDouble();

    public int Next(int maxExclusive) => _random.Next(maxExclusive);

    /// <summary>A Beta(alpha, alpha) draw, from two Gamma draws (Marsaglia and Tsang).</summary>
    public double NextBeta(double alpha)
    {
        var x = NextGamma(alpha);
        var y = NextGamma(alpha);
        return x + y == 0 ? 0.5 : x / (x + y);
    }

    /// <summary>A permutation of 0..n-1 (Fisher-Yates).</summary>
    public long[] Permutation(int n)
    {
        var p = new long[n];
        for (var i = 0; i < n; i++)
        {
            p[i] = i;
        }
        for (var i = n - 1; i > 0; i--)
        {
            var j = Next(i + 1);
            (p[i], p[j]) = (p[j], p[i]);
        }
        return p;
    }

    private double NextGamma(double shape)
    {
        if (shape < 1)
        {
            // Gamma(a) = Gamma(a + 1) * U^(1/a)
            return NextGamma(shape + 1) * Math.Pow(Math.Max(NextDouble(), double.Epsilon), 1.0 / shape);
        }
        var d = shape - (1.0 / 3);
        var c = 1.0 / Math.Sqrt(9 * d);
        while (true)
        {
            double x, v;
            do
            {
                x = NextGaussian();
                v = 1 + (c * x);
            }
            while (v <= 0);
            v = v * v * v;
            var u = NextDouble();
            if (u < 1 - (0.0331 * x * x * x * x) || Math.Log(Math.Max(u, double.Epsilon)) < (0.5 * x * x) + (d * (1 - v + Math.Log(v))))
            {
                return d * v;
            }
        }
    }

    private double NextGaussian()
    {
        var u1 = Math.Max(NextDouble(), double.Epsilon);
        var u2 = NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
