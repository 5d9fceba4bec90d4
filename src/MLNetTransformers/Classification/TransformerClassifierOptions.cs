namespace MLNetTransformers.Classification;

/// <summary>
/// Options of the transformer classification trainers (<c>mlContext.BinaryClassification.Trainers.TransformerClassifier</c>
/// and the multiclass one): columns, tokenizer, network shape and optimisation. Defaults train a small encoder
/// (2 layers, d_model 128) that fits sentence classification on two cores.
/// </summary>
public class TransformerClassifierOptions : TransformerTrainingOptions
{
    /// <summary>Creates the options with the defaults of <see cref="TransformerTrainingOptions"/>; <see cref="TransformerTrainingOptions.Epochs"/>
    /// null chooses 8 epochs, or as many as make about 1,500 steps when the data is small (at most 200), with early
    /// stopping (patience max(2, epochs / 8)) deciding where to end; without a <see cref="ValidationSet"/>,
    /// <see cref="TransformerTrainingOptions.ValidationFraction"/> of the training rows (chosen at random with the seed) is held out
    /// for validation when that gives at least 20 rows on each side. Rows that are parts of one another (SST-2's
    /// phrases of a sentence) make such a random hold-out too easy: give a <see cref="ValidationSet"/> split by sentence for those.</summary>
    public TransformerClassifierOptions() { }

    /// <summary>Label column: Boolean (or 0/1 numbers) for binary; a key type for multiclass (use MapValueToKey); Single or Double for regression.</summary>
    public string LabelColumnName { get; set; } = DefaultColumnNames.Label;
    /// <summary>
    /// The second text of a sentence pair (paraphrase, entailment, similarity): each row is read as
    /// <c>[CLS] text [SEP] second [SEP]</c> with token types 0 and 1 (<see cref="TextTokenizer.EncodePair"/>); null = single texts.
    /// </summary>
    public string? SecondTextColumnName { get; set; }
    /// <summary>Output: raw score (binary: logit of the positive class minus the negative; multiclass: probability vector).</summary>
    public string ScoreColumnName { get; set; } = DefaultColumnNames.Score;
    /// <summary>Output (binary): probability of the positive class.</summary>
    public string ProbabilityColumnName { get; set; } = DefaultColumnNames.Probability;
    /// <summary>Output: predicted label (Boolean, or the label's key type).</summary>
    public string PredictedLabelColumnName { get; set; } = DefaultColumnNames.PredictedLabel;

    /// <summary>CLS or mean pooling.</summary>
    public Pooling Pooling { get; set; } = Pooling.Mean;

    /// <summary>
    /// Rows of the hashed bigram table of the bag-of-n-grams branch trained beside the transformer and mixed with it
    /// (the mixture weights are chosen on validation data; 0.5 and 0.5 without any). 0 = transformer only.
    /// </summary>
    /// <remarks>Default 2^18, and 0 when fine-tuning a <see cref="Pretrained"/> encoder.</remarks>
    public int NGramBuckets { get => _ngramBuckets ?? (Pretrained is null ? 1 << 18 : 0); set => _ngramBuckets = value; }
    private int? _ngramBuckets;
    internal bool NGramBucketsSet => _ngramBuckets is not null;

    /// <summary>
    /// Transformers trained side by side from different random initialisations, their logits averaged (a deep
    /// ensemble): each step costs this many times more.
    /// </summary>
    public int EnsembleSize { get; set; } = 1;

    /// <summary>
    /// Decay of an exponential moving average of the weights, which validation scores and training keeps instead of
    /// the raw weights (0 = off).
    /// </summary>
    public float WeightAveraging { get; set; }
    /// <summary>Word dropout: probability that a training token (not [CLS] or [SEP]) is replaced by [MASK] in a step.</summary>
    public float TokenDropout { get; set; }
    /// <summary>Label smoothing ε.</summary>
    public float LabelSmoothing { get; set; }

    /// <summary>
    /// Held-out data (same columns) evaluated after every epoch: the best weights on it (<see cref="BestWeightsBy"/>)
    /// are kept, and the n-gram branch's mixture weights are chosen on it.
    /// </summary>
    public IDataView? ValidationSet { get; set; }
    /// <summary>
    /// When the validation rows were held out by <see cref="TransformerTrainingOptions.ValidationFraction"/> and there are at most 20,000 rows,
    /// train a second model on all rows for the number of steps validation chose, with the mixture weights it chose
    /// (small data sets gain most from the rows validation took away).
    /// </summary>
    /// <remarks>Default true, and false when fine-tuning a <see cref="Pretrained"/> encoder (a second fine-tuning run costs as much as the first).
    /// The sequence classifier's and regressor's (a cross-encoder's): the bi-encoder, the token classifier and the question
    /// answerer keep the validated model and refuse <c>Refit = true</c>.</remarks>
    public bool Refit { get => _refit ?? Pretrained is null; set => _refit = value; }
    private bool? _refit;
    internal bool RefitSet => _refit is not null;

    /// <summary>
    /// What picks the weights kept and resets early stopping: <see cref="ValidationCriterion.Loss"/> (validation
    /// cross-entropy; accuracy on a few hundred rows moves in steps and picks noise) or <see cref="ValidationCriterion.Metric"/>
    /// (validation accuracy, the loss breaking ties).
    /// </summary>
    /// <remarks>Default <see cref="ValidationCriterion.Loss"/>, and <see cref="ValidationCriterion.Metric"/> when fine-tuning a
    /// <see cref="Pretrained"/> encoder: fine-tuning grows over-confident after the first epoch (the loss rises) while
    /// accuracy still climbs, as Hugging Face's <c>metric_for_best_model</c> is usually set for classification.</remarks>
    public ValidationCriterion BestWeightsBy { get => _bestWeightsBy ?? (Pretrained is null ? ValidationCriterion.Loss : ValidationCriterion.Metric); set => _bestWeightsBy = value; }
    private ValidationCriterion? _bestWeightsBy;

    /// <summary>Receives loss, tokens/s and validation accuracy as training goes.</summary>
    public IProgress<TrainingProgress>? Progress { get; set; }

    /// <summary>
    /// Start from this encoder's weights (masked-LM pretraining's, a featurizer's or another classifier's
    /// <see cref="TransformerClassifier.Encoder"/>) instead of random ones; its shape wins over the shape options.
    /// </summary>
    public TransformerEncoder? InitialModel { get; set; }
    /// <summary>Use this tokenizer instead of building one from <see cref="TransformerTrainingOptions.Tokenizer"/>.</summary>
    public TextTokenizer? PretrainedTokenizer { get; set; }
    /// <summary>
    /// Fine-tune this pretrained encoder (a Hugging Face checkpoint, a PyTorch-exported ONNX encoder, all-MiniLM-L6-v2)
    /// with its own tokenizer, shape, pooling and dropout; the shape and tokenizer options are not used. The defaults
    /// then suit fine-tuning: learning rate 5e-5 with 6% warmup and linear decay, weight decay 0.01, 3 epochs with
    /// early stopping on validation, no n-gram branch, no refit.
    /// </summary>
    public PretrainedEncoder? Pretrained { get; set; }
    /// <summary>
    /// Layer-wise learning-rate decay: the top block trains at the learning rate times this, each block below at this
    /// much less again, and the embeddings at the lowest; the head and pooler at the full rate. 1 = one rate for all
    /// (the default); 0.8-0.95 is usual when fine-tuning a pretrained encoder on little data.
    /// </summary>
    public float LayerwiseLearningRateDecay { get; set; } = 1f;
    /// <summary>The embeddings and this many lowest blocks are frozen (not trained). 0 = train everything.</summary>
    public int FrozenLayers { get; set; }
    private protected override float DefaultLearningRate => Pretrained is null ? base.DefaultLearningRate : 5e-5f;

    /// <summary>The epochs a run over <paramref name="stepsPerEpoch"/> steps each makes: <see cref="TransformerTrainingOptions.Epochs"/>, or the automatic choice.</summary>
    internal int EpochsFor(int stepsPerEpoch) => Epochs ?? (Pretrained is not null ? 3 : Math.Clamp((1500 + stepsPerEpoch - 1) / stepsPerEpoch, 8, 200));

    /// <summary>
    /// The training loop of the trainers these options drive (classifier, regressor, bi-encoder): linear decay after warmup
    /// over the epochs <see cref="EpochsFor"/> chooses, validation, early stopping, time budget and cancellation.
    /// </summary>
    internal TrainingLoop Loop(ITrainableModel model, int stepsPerEpoch, TimeSpan elapsedBefore, long stopAfterStep = long.MaxValue)
    {
        int epochs = EpochsFor(stepsPerEpoch);
        long totalSteps = (long)stepsPerEpoch * epochs;
        return new TrainingLoop(model, new TrainingLoopOptions
        {
            Optimization = Optimization(WarmupFor(totalSteps), totalSteps),
            Epochs = epochs, MaxSteps = Math.Min(stopAfterStep, MaxSteps ?? long.MaxValue), StepsPerEpoch = stepsPerEpoch, TimeBudget = TimeBudget, ElapsedBefore = elapsedBefore,
            ValidateEverySteps = ValidateEverySteps, ReportEverySteps = ReportEverySteps, Patience = PatienceFor(epochs),
            WeightAveraging = WeightAveraging, Cancellation = CancellationToken, Criterion = BestWeightsBy,
        });
    }

    /// <summary>Epochs without validation improvement before stopping: <see cref="TransformerTrainingOptions.EarlyStoppingPatience"/>, or the automatic choice.</summary>
    internal int PatienceFor(int epochs) => EarlyStoppingPatience ?? Math.Max(2, epochs / 8);

    /// <summary>Throws naming the options that are set although <paramref name="task"/> does not use them (none set: nothing).</summary>
    /// <param name="task">The task, as the message names it (e.g. "A bi-encoder").</param>
    /// <param name="options">Each option's name and whether it is set.</param>
    internal static void RefuseUnused(string task, params (string Name, bool Set)[] options)
    {
        var unused = options.Where(o => o.Set).Select(o => o.Name).ToList();
        if (unused.Count > 0) throw new ArgumentException($"{task} does not use {string.Join(", ", unused)}: leave {(unused.Count > 1 ? "them" : "it")} unset.", nameof(options));
    }

    /// <summary>
    /// The model of a trainer whose output layer runs at every position (the token classifier, the question answerer),
    /// from the initial encoder when there is one: the encoder without its pooler and sentence-transformers' Dense module,
    /// which such a model does not read; a family whose task head has a head of its own (ModernBERT's dense, activation and
    /// norm at every position) gets it newly initialised, as its transformers class starts; a checkpoint is fine-tuned
    /// with the dropout it was trained with, and the dropout before the output layer its transformers class applies
    /// (<see cref="Core.Pretrained.EncoderFamily.PositionHeadDropout"/>); the output layer starts new. Without one, a
    /// model of the shape options, a tagger dropping out at the encoder's rate before its output layer, a reader not.
    /// </summary>
    /// <param name="tokenizer">The tokenizer the model reads.</param>
    /// <param name="outputs">Outputs at every position (tags; 2 for start and end).</param>
    /// <param name="kind">The task (token classifier or question answerer).</param>
    /// <param name="create">Builds the model from its config and seed.</param>
    /// <param name="scratch">Adjusts the shape of a model trained from scratch (null = as the options make it).</param>
    internal T PositionModel<T>(TextTokenizer tokenizer, int outputs, ModelKind kind, Func<ClassifierConfig, ulong, T> create, Func<TransformerConfig, TransformerConfig>? scratch = null)
        where T : PositionHeadModel
    {
        float Own(float dropout) => kind == ModelKind.TokenClassifier ? dropout : 0f; // a model of this library's: a tagger at its dropout, a reader none
        if ((Pretrained?.Encoder ?? InitialModel) is { } init)
        {
            PretrainedEncoder.RequireFits(init, tokenizer);
            var shape = init.Config.Shape() with { SentenceDense = 0, Pooler = false };
            if (Pretrained is not null && Core.Pretrained.EncoderFamily.For(shape).SequenceClassifier is { Norm: not null } head)
                shape = shape with { Pooler = true, PoolerActivation = head.Activation, PoolerNorm = true };
            var model = create(new ClassifierConfig(shape)
            {
                NumClasses = outputs, Dropout = Pretrained is null ? Dropout : init.Config.Dropout,
                ClassifierDropout = Pretrained is null ? Own(Dropout) : Core.Pretrained.EncoderFamily.For(shape).PositionHeadDropout(init.Config, kind),
            }, (ulong)Seed);
            PretrainedEncoder.CopyWeights(init, model.Parameters, name => name.StartsWith("head.", StringComparison.Ordinal) ? null : name);
            return model;
        }
        var fresh = ModelConfig(tokenizer.VocabularySize, tokenizer.MaxTokens);
        var shaped = scratch?.Invoke(fresh) ?? fresh;
        return create(new ClassifierConfig(shaped) { NumClasses = outputs, ClassifierDropout = Own(shaped.Dropout) }, (ulong)Seed);
    }

    /// <summary>Throws naming the options of a sequence classifier alone that are set, for <paramref name="task"/>, a trainer at every position that shares these options.</summary>
    /// <param name="task">The task, as the message names it (e.g. "A token classifier").</param>
    internal void RefuseSequenceClassifierOptions(string task) => RefuseUnused(task, (nameof(SecondTextColumnName), SecondTextColumnName is not null),
        (nameof(NGramBuckets), NGramBucketsSet && NGramBuckets > 0), (nameof(EnsembleSize), EnsembleSize != 1),
        (nameof(TokenDropout), TokenDropout > 0), (nameof(LabelSmoothing), LabelSmoothing > 0),
        (nameof(WeightAveraging), WeightAveraging > 0), (nameof(LayerwiseLearningRateDecay), LayerwiseLearningRateDecay < 1f),
        (nameof(FrozenLayers), FrozenLayers > 0), (nameof(Refit), RefitSet && Refit));

    internal override void Validate()
    {
        base.Validate();
        Positive(EnsembleSize, nameof(EnsembleSize));
        if (!Enum.IsDefined(Pooling)) throw new ArgumentOutOfRangeException(nameof(Pooling), Pooling, "Unknown pooling.");
        if (!(LabelSmoothing >= 0f && LabelSmoothing < 1f)) throw new ArgumentOutOfRangeException(nameof(LabelSmoothing), LabelSmoothing, "LabelSmoothing must be in [0, 1).");
        if (!(WeightAveraging >= 0f && WeightAveraging < 1f)) throw new ArgumentOutOfRangeException(nameof(WeightAveraging), WeightAveraging, "WeightAveraging must be in [0, 1).");
        if (!(TokenDropout >= 0f && TokenDropout < 1f)) throw new ArgumentOutOfRangeException(nameof(TokenDropout), TokenDropout, "TokenDropout must be in [0, 1).");
        if (Pretrained is not null && (InitialModel is not null || PretrainedTokenizer is not null))
            throw new ArgumentException($"{nameof(Pretrained)} brings its own encoder and tokenizer: leave {nameof(InitialModel)} and {nameof(PretrainedTokenizer)} unset.");
        if (!(LayerwiseLearningRateDecay > 0f && LayerwiseLearningRateDecay <= 1f))
            throw new ArgumentOutOfRangeException(nameof(LayerwiseLearningRateDecay), LayerwiseLearningRateDecay, "LayerwiseLearningRateDecay must be in (0, 1].");
        if (FrozenLayers < 0) throw new ArgumentOutOfRangeException(nameof(FrozenLayers), FrozenLayers, "FrozenLayers must be non-negative.");
        if (!Enum.IsDefined(BestWeightsBy)) throw new ArgumentOutOfRangeException(nameof(BestWeightsBy), BestWeightsBy, "Unknown validation criterion.");
        if (NGramBuckets < 0) throw new ArgumentOutOfRangeException(nameof(NGramBuckets), NGramBuckets, "NGramBuckets must be non-negative (0 = no n-gram branch).");
    }
}
