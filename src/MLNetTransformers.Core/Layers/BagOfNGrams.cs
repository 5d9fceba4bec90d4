namespace MLNetTransformers.Core.Layers;

/// <summary>
/// A linear model over the bag of token unigrams and hashed bigrams (fastText-style): for each sequence, the
/// sum of one weight row per n-gram, scaled by 1/√(number of n-grams), gives class logits. Beside a
/// transformer it is the branch that a few thousand examples already train well, so the ensemble never falls
/// below a linear text classifier.
/// </summary>
/// <remarks>
/// Unigram <c>a</c> reads row <c>a</c> of <c>unigram</c> [vocab, classes]; bigram <c>(a, b)</c> reads row
/// <c>(a·vocab + b) mod buckets</c> of <c>bigram</c> [buckets, classes] (integer arithmetic an ONNX graph can repeat).
/// Logits are multiplied by <see cref="Scale"/>: with Adam the step on a weight is about the learning rate whatever
/// the gradient's size, so the scale makes this sparse table learn <see cref="Scale"/> times faster than the
/// transformer it trains beside.
/// </remarks>
public sealed class BagOfNGrams
{
    private float[]? _y, _g;
    private int[] _ids = Array.Empty<int>();
    private bool[]? _padding;
    private int _batch, _seq;

    /// <summary>Declares <c>{prefix}unigram</c> [vocab, classes] and <c>{prefix}bigram</c> [buckets, classes], zero-initialised.</summary>
    /// <param name="parameters">The model's parameter set.</param>
    /// <param name="prefix">Name prefix of the two tables.</param>
    /// <param name="vocab">Token ids are 0..vocab−1.</param>
    /// <param name="buckets">Rows of the hashed bigram table.</param>
    /// <param name="classes">Outputs per sequence.</param>
    /// <param name="scale">Multiplier of the logits (the tables' learning-rate multiplier under Adam).</param>
    public BagOfNGrams(ParameterSet parameters, string prefix, int vocab, int buckets, int classes, float scale = 10f)
    {
        if (vocab <= 0 || buckets <= 0 || classes <= 0)
            throw new ArgumentOutOfRangeException(nameof(buckets), $"Bag of n-grams '{prefix}' needs positive sizes, got vocab={vocab}, buckets={buckets}, classes={classes}.");
        (Vocab, Buckets, Classes, Scale) = (vocab, buckets, classes, scale);
        Unigram = parameters.Add(prefix + "unigram", new[] { vocab, classes }, Init.Zeros, decay: true);
        Bigram = parameters.Add(prefix + "bigram", new[] { buckets, classes }, Init.Zeros, decay: true);
    }

    /// <summary>Token ids are 0..Vocab−1.</summary>
    public int Vocab { get; }
    /// <summary>Rows of the hashed bigram table.</summary>
    public int Buckets { get; }
    /// <summary>Outputs per sequence.</summary>
    public int Classes { get; }
    /// <summary>Multiplier of the logits (the table's learning-rate multiplier under Adam).</summary>
    public float Scale { get; }
    /// <summary>[vocab, classes]</summary>
    public ParameterTensor Unigram { get; }
    /// <summary>[buckets, classes]</summary>
    public ParameterTensor Bigram { get; }

    /// <summary>Row of the bigram table for the pair (a, b).</summary>
    /// <param name="a">First token id.</param>
    /// <param name="b">Second token id.</param>
    public long BigramRow(int a, int b) => ((long)a * Vocab + b) % Buckets;

    /// <summary>ids [B, T] (padding flags [B, T] or null) → logits [B, classes] (a buffer reused by the next call).</summary>
    /// <param name="ids">[B, T] token ids; real tokens come first in each row.</param>
    /// <param name="batch">B.</param>
    /// <param name="seqLen">T.</param>
    /// <param name="padding">[B, T], true = padded; null = no padding.</param>
    public float[] Forward(int[] ids, int batch, int seqLen, bool[]? padding)
    {
        int c = Classes;
        var y = Workspace.Ensure(ref _y, batch * c);
        var uni = Unigram.Value;
        var bi = Bigram.Value;
        (_ids, _padding, _batch, _seq) = (ids, padding, batch, seqLen);
        for (int b = 0; b < batch; b++)
        {
            var dst = y.AsSpan(b * c, c);
            dst.Clear();
            int len = Length(b);
            for (int t = 0; t < len; t++)
            {
                int id = ids[b * seqLen + t];
                if ((uint)id >= (uint)Vocab)
                    throw new ArgumentOutOfRangeException(nameof(ids), id, $"Token id {id} at position {b * seqLen + t} is outside the vocabulary [0, {Vocab}).");
                TensorPrimitives.Add(dst, uni.Slice(id * c, c), dst);
                if (t > 0) TensorPrimitives.Add(dst, bi.Slice((int)BigramRow(ids[b * seqLen + t - 1], id) * c, c), dst);
            }
            if (len > 0) TensorPrimitives.Multiply(dst, Weight(len), dst);
        }
        return y;
    }

    /// <summary>Adds the gradient of dlogits [B, classes] into the rows the last Forward read.</summary>
    /// <param name="dlogits">[B, classes] gradient of the loss with respect to the logits.</param>
    public void Backward(float[] dlogits)
    {
        int c = Classes;
        var guni = Unigram.Grad;
        var gbi = Bigram.Grad;
        var g = Workspace.Ensure(ref _g, c).AsSpan(0, c);
        for (int b = 0; b < _batch; b++)
        {
            int len = Length(b);
            if (len == 0) continue;
            TensorPrimitives.Multiply(dlogits.AsSpan(b * c, c), Weight(len), g);
            for (int t = 0; t < len; t++)
            {
                int id = _ids[b * _seq + t];
                var row = guni.Slice(id * c, c);
                TensorPrimitives.Add(row, g, row);
                if (t == 0) continue;
                row = gbi.Slice((int)BigramRow(_ids[b * _seq + t - 1], id) * c, c);
                TensorPrimitives.Add(row, g, row);
            }
        }
    }

    // Real tokens are a prefix of each row (the tokenizer pads at the end).
    private int Length(int b)
    {
        if (_padding is null) return _seq;
        int len = 0;
        while (len < _seq && !_padding[b * _seq + len]) len++;
        return len;
    }

    // len unigrams and len−1 bigrams, each counted once: 1/√(2·len − 1) keeps the bag's norm near 1, as L2-normalised n-gram counts are.
    private float Weight(int len) => Scale / MathF.Sqrt(2 * len - 1);
}
