namespace MLNetTransformers.Cli;

/// <summary>
/// The decoding flags of <c>translate</c> and <c>evaluate-seq2seq</c> (and <c>--beam</c> of <c>train-seq2seq</c>): each
/// overrides the model's saved setting only when given; a value the library refuses is a usage error naming the flag.
/// </summary>
internal sealed class DecodingFlags
{
    private readonly Option<int?> _beam = CliOption.OptionalInt("--beam", "Beam width (1 = greedy; default: the model's)");
    private readonly Option<double?> _lengthPenalty = CliOption.OptionalNumber("--length-penalty", "α of GNMT's length penalty (0 = none; default: the model's)");
    private readonly Option<int?> _nBest = CliOption.OptionalInt("--n-best", "Hypotheses per input, best first, tab-separated with their scores (default 1)");
    private readonly Option<bool> _sample = new("--sample") { Description = "Draw each token from the model's distribution instead of searching (needs --beam 1)" };
    private readonly Option<double?> _temperature = CliOption.OptionalNumber("--temperature", "Sampling temperature (0 = greedy)");
    private readonly Option<int?> _topK = CliOption.OptionalInt("--top-k", "Sample among the k likeliest tokens only (0 = all)");
    private readonly Option<double?> _topP = CliOption.OptionalNumber("--top-p", "Nucleus sampling: the smallest set of tokens whose probability reaches p");
    private readonly Option<int?> _seed = CliOption.OptionalInt("--seed", "Seed of the sampler");
    private readonly Option<int?> _batch = CliOption.OptionalInt("--batch-size", "Sentences decoded together (default 32)");
    private readonly Option<double?> _maxLengthRatio = CliOption.OptionalNumber("--max-length-ratio", "Output tokens at most: ratio·|source| + offset (default 2)");
    private readonly Option<int?> _maxLengthOffset = CliOption.OptionalInt("--max-length-offset", "See --max-length-ratio (default 10)");

    private Option[] All => new Option[] { _beam, _lengthPenalty, _nBest, _sample, _temperature, _topK, _topP, _seed, _batch, _maxLengthRatio, _maxLengthOffset };

    /// <summary>Adds every decoding flag to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        foreach (var o in All) command.Options.Add(o);
    }

    /// <summary>The given flags applied over <paramref name="saved"/>, validated.</summary>
    public Seq2SeqDecodingOptions Apply(ParseResult r, Seq2SeqDecodingOptions saved)
    {
        var o = saved with
        {
            BeamWidth = r.GetValue(_beam) ?? (r.GetValue(_sample) ? 1 : saved.BeamWidth),
            LengthPenalty = (float?)r.GetValue(_lengthPenalty) ?? saved.LengthPenalty,
            NBest = r.GetValue(_nBest) ?? 1,
            Sample = r.GetValue(_sample) || saved.Sample,
            Temperature = (float?)r.GetValue(_temperature) ?? saved.Temperature,
            TopK = r.GetValue(_topK) ?? saved.TopK,
            TopP = (float?)r.GetValue(_topP) ?? saved.TopP,
            Seed = r.GetValue(_seed) is { } seed ? (ulong)(uint)seed : saved.Seed,
            BatchSize = r.GetValue(_batch) ?? saved.BatchSize,
            MaxLengthRatio = (float?)r.GetValue(_maxLengthRatio) ?? saved.MaxLengthRatio,
            MaxLengthOffset = r.GetValue(_maxLengthOffset) ?? saved.MaxLengthOffset,
        };
        try { return o.Validate(); }
        catch (ArgumentOutOfRangeException e)
        {
            var flag = e.ParamName switch
            {
                nameof(o.BeamWidth) => _beam.Name, nameof(o.LengthPenalty) => _lengthPenalty.Name, nameof(o.NBest) => _nBest.Name,
                nameof(o.Temperature) => _temperature.Name, nameof(o.TopK) => _topK.Name, nameof(o.TopP) => _topP.Name,
                nameof(o.BatchSize) => _batch.Name, nameof(o.MaxLengthRatio) => _maxLengthRatio.Name, nameof(o.MaxLengthOffset) => _maxLengthOffset.Name,
                _ => "decoding",
            };
            throw new UsageException($"{flag}: {e.Message.Split(" (Parameter")[0].Split(Environment.NewLine)[0]}");
        }
    }
}
