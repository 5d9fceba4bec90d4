using System.Numerics.Tensors;
using MLNetTransformers.Core.Kernels;
using MLNetTransformers.Core.Layers;

namespace MLNetTransformers.Core.Models;

/// <summary>Pools token states into one vector per sequence (CLS or masked mean) and maps it to class logits.</summary>
public sealed class ClassificationHead
{
    private readonly Linear _proj;
    private float[]? _pooled, _dhidden;
    private bool[]? _padding;
    private int _batch, _seq;

    /// <summary>Declares <c>{prefix}weight</c> [classes, d] and <c>{prefix}bias</c>.</summary>
    public ClassificationHead(ParameterSet parameters, string prefix, int dim, int classes, Pooling pooling)
    {
        _proj = new Linear(parameters, prefix, dim, classes);
        Pooling = pooling;
    }

    /// <summary>Pooling mode.</summary>
    public Pooling Pooling { get; }
    /// <summary>The output layer.</summary>
    public Linear Projection => _proj;
    private int Dim => _proj.In;

    /// <summary>Pooled sentence vectors of the last Forward, [B, d].</summary>
    public ReadOnlySpan<float> Pooled => _pooled.AsSpan(0, _batch * Dim);

    /// <summary>hidden [B, T, d] → pooled [B, d] (no projection): the sentence embedding.</summary>
    public float[] Pool(float[] hidden, int batch, int seqLen, bool[]? padding)
    {
        int d = Dim;
        (_batch, _seq, _padding) = (batch, seqLen, padding);
        var pooled = Workspace.Ensure(ref _pooled, batch * d);
        for (int b = 0; b < batch; b++)
        {
            var dst = pooled.AsSpan(b * d, d);
            if (Pooling == Pooling.Cls)
            {
                hidden.AsSpan(b * seqLen * d, d).CopyTo(dst);
                continue;
            }
            dst.Clear();
            int count = 0;
            for (int t = 0; t < seqLen; t++)
            {
                if (padding is not null && padding[b * seqLen + t]) continue;
                TensorPrimitives.Add(dst, hidden.AsSpan((b * seqLen + t) * d, d), dst);
                count++;
            }
            if (count > 0) TensorPrimitives.Multiply(dst, 1f / count, dst); // an all-padding row pools to zeros
        }
        return pooled;
    }

    /// <summary>hidden [B, T, d] → logits [B, classes].</summary>
    public float[] Forward(float[] hidden, int batch, int seqLen, bool[]? padding) => _proj.Forward(Pool(hidden, batch, seqLen, padding), batch);

    /// <summary>dlogits [B, classes] → dhidden [B, T, d].</summary>
    public float[] Backward(float[] dlogits)
    {
        int d = Dim, n = _batch * _seq;
        var dpooled = _proj.Backward(dlogits, _batch);
        var dh = Workspace.Ensure(ref _dhidden, n * d);
        dh.AsSpan(0, n * d).Clear();
        for (int b = 0; b < _batch; b++)
        {
            var g = dpooled.AsSpan(b * d, d);
            if (Pooling == Pooling.Cls)
            {
                g.CopyTo(dh.AsSpan(b * _seq * d, d));
                continue;
            }
            int count = 0;
            for (int t = 0; t < _seq; t++) if (_padding is null || !_padding[b * _seq + t]) count++;
            if (count == 0) continue;
            float w = 1f / count;
            for (int t = 0; t < _seq; t++)
            {
                if (_padding is not null && _padding[b * _seq + t]) continue;
                TensorPrimitives.Multiply(g, w, dh.AsSpan((b * _seq + t) * d, d));
            }
        }
        return dh;
    }
}
