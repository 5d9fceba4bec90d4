using System.Text.Json;
using System.Text.Json.Nodes;

namespace MLNetTransformers.Core.Pretrained;

/// <summary>
/// A family of pretrained encoders made elsewhere (BERT and MiniLM, DistilBERT, RoBERTa, ELECTRA, MPNet, ALBERT, DeBERTa-v2/v3, ModernBERT, NomicBERT, JinaBERT, MosaicBERT, GTE, ESM, MegatronBERT, RoBERTa-PreLayerNorm, XLM-RoBERTa-XL, data2vec-text): how its
/// <c>config.json</c> reads as a <see cref="TransformerConfig"/>, which blocks it chooses (token types, the
/// LayerNorm after the embeddings, the position offset, the pooler) and which of its checkpoint's tensors holds each
/// engine parameter. <see cref="All"/> is the one registry of the families there are; <see cref="ForModelType"/> finds
/// one by <c>model_type</c> (and, for BERT's, its position kind: <see cref="ForConfig"/>).
/// </summary>
public sealed class EncoderFamily
{
    private readonly Func<JsonElement, string, TransformerConfig> _config;
    private readonly Func<TransformerConfig, JsonObject> _writeConfig;
    private readonly Func<string, string[]?> _names;
    private readonly Dictionary<string, string> _mlmHead;

    private EncoderFamily(string name, string[] modelTypes, string prefix, string[] ownNamespaces,
        Func<JsonElement, string, TransformerConfig> config, Func<TransformerConfig, JsonObject> writeConfig, Func<string, string[]?> names, Dictionary<string, string> mlmHead,
        SequenceClassifierHead? sequenceClassifier)
    {
        (Name, ModelTypes, Prefix, OwnNamespaces, _config, _writeConfig, _names, _mlmHead, SequenceClassifier) =
            (name, modelTypes, prefix, ownNamespaces, config, writeConfig, names, mlmHead, sequenceClassifier);
    }

    /// <summary>
    /// The head of the family's <c>*ForSequenceClassification</c> checkpoints as the engine's classifier runs it: a dense
    /// layer on the first token (BERT's pooler, RoBERTa's <c>classifier.dense</c>, DistilBERT's <c>pre_classifier</c>) with
    /// its activation, then the output layer.
    /// </summary>
    public SequenceClassifierHead? SequenceClassifier { get; }

    /// <summary>
    /// Whether the family's sequence classifier puts a dense layer of its own on the first token (DistilBERT's
    /// <c>pre_classifier</c>, RoBERTa's, ELECTRA's and MPNet's <c>classifier.dense</c>), made afresh for each task, rather
    /// than the encoder's pretrained pooler (BERT's).
    /// </summary>
    public bool ClassifierHasOwnDenseLayer => SequenceClassifier is { } head && !OwnNamespaces.Any(ns => head.Dense.StartsWith(Prefix + ns, StringComparison.Ordinal));

    /// <summary>The family's name.</summary>
    public string Name { get; }
    /// <summary>
    /// Tensors of the encoder's own that its checkpoints may carry unused and that are listed rather than refused (the
    /// ends of their names; transformers' <c>_keys_to_ignore_on_load_unexpected</c>: DeBERTa-v3's position table).
    /// </summary>
    public IReadOnlyList<string> IgnoredTensors { get; private init; } = [];

    /// <summary>
    /// Tables the family's checkpoints store though they hold no trained weights (RoFormer's sinusoidal
    /// <c>encoder.embed_positions</c>), computed from the config when a folder is written, so that the family's own code
    /// reads it whole; null = none.
    /// </summary>
    internal Func<TransformerConfig, IEnumerable<(string Name, int[] Shape, ReadOnlyMemory<float> Values)>>? DerivedTensors { get; private init; }

    /// <summary>
    /// Reorders a parameter's values between the family's layout and the engine's (<c>toEngine</c>), for families that
    /// pack a tensor otherwise (DeBERTa v1's input projection, head by head); null = every tensor as the engine lays it out.
    /// </summary>
    internal Action<string, Span<float>, TransformerConfig, bool>? Repack { get; private init; }

    // DeBERTa v1's in_proj rows are, head by head, its query, key and value rows (h, t, d); the engine's are all queries,
    // all keys, all values (t, h, d).
    private static void HeadsInterleavedQkv(string parameter, Span<float> values, TransformerConfig c, bool toEngine)
    {
        if (!parameter.EndsWith("self_attn.in_proj_weight", StringComparison.Ordinal)) return;
        int a = c.ModelDim, hd = a / c.Heads, d = values.Length / (3 * a);
        var copy = values.ToArray();
        for (int h = 0; h < c.Heads; h++)
            for (int t = 0; t < 3; t++)
            {
                int engine = (t * a + h * hd) * d, family = (h * 3 * hd + t * hd) * d;
                (toEngine ? copy.AsSpan(family, hd * d) : copy.AsSpan(engine, hd * d)).CopyTo(values.Slice(toEngine ? engine : family, hd * d));
            }
    }
    /// <summary>The <c>model_type</c> values of config.json that mean this family.</summary>
    public IReadOnlyList<string> ModelTypes { get; }
    /// <summary>Prefix a task model's checkpoint puts before the encoder's tensors (<c>bert.</c>); bare encoders have none.</summary>
    public string Prefix { get; }
    /// <summary>First parts of the encoder's own tensor names: a tensor there that maps to no parameter is an error, not a task head.</summary>
    public IReadOnlyList<string> OwnNamespaces { get; }

    /// <summary>The engine config of a <c>config.json</c>; <paramref name="source"/> names the file in errors.</summary>
    /// <param name="config">The parsed config.json root.</param>
    /// <param name="source">Names the file in error messages.</param>
    public TransformerConfig ReadConfig(JsonElement config, string source) => _config(config, source);

    /// <summary>
    /// <paramref name="config"/> with the dropouts of the family's <c>*ForSequenceClassification</c> head as transformers
    /// applies them in training (<see cref="TransformerConfig.ClassifierDropout"/>, <see cref="TransformerConfig.PoolerDropout"/>):
    /// <c>classifier_dropout</c>, else the hidden dropout, before the output layer, and where the family's head has a dense
    /// layer of its own (RoBERTa's <c>classifier.dense</c>, ELECTRA's, MPNet's, ESM's) before that too; DistilBERT's
    /// <c>seq_classif_dropout</c> (0.2), ALBERT's <c>classifier_dropout_prob</c> (0.1), DeBERTa's <c>pooler_dropout</c> (0)
    /// and <c>cls_dropout</c>, ModernBERT's <c>classifier_dropout</c> (0). A reader's (<see cref="TransformerConfig.AnswerDropout"/>):
    /// DistilBERT's <c>qa_dropout</c> (0.1), ModernBERT's <c>classifier_dropout</c>, none in the other families'. A key
    /// absent takes transformers' default.
    /// </summary>
    /// <param name="config">The encoder's config as read.</param>
    /// <param name="json">The checkpoint's config.json, or null (an ONNX graph without one: the defaults).</param>
    /// <param name="source">Names the config in errors.</param>
    public TransformerConfig WithHeadDropouts(TransformerConfig config, JsonElement? json, string source)
    {
        float? Setting(string key) => json is { } c && Get(c, key) is not null ? Float(c, key, source, 0f) : null;
        float hidden = config.Dropout, classifier = Setting("classifier_dropout") ?? hidden;
        var (pooler, head) = this == DistilBert ? (0f, Setting("seq_classif_dropout") ?? 0.2f)
            : this == Albert ? (0f, Setting("classifier_dropout_prob") ?? 0.1f)
            : this == DebertaV2 || this == DebertaV1 ? (Setting("pooler_dropout") ?? 0f, Setting("cls_dropout") ?? hidden)
            : this == ModernBert ? (0f, Setting("classifier_dropout") ?? 0f)
            : (ClassifierHasOwnDenseLayer ? classifier : 0f, classifier);
        float answer = this == DistilBert ? Setting("qa_dropout") ?? 0.1f : this == ModernBert ? head : 0f;
        if (!(pooler >= 0f && pooler < 1f && head >= 0f && head < 1f && answer >= 0f && answer < 1f))
            throw new InvalidDataException($"{source}: the heads' dropouts ({pooler}, {head}, {answer}) are not probabilities in [0, 1).");
        return config with { PoolerDropout = pooler, ClassifierDropout = head, AnswerDropout = answer };
    }

    /// <summary>
    /// The dropout in training before the output layer of a tagger (<see cref="ModelKind.TokenClassifier"/>) or a reader
    /// (<see cref="ModelKind.QuestionAnswerer"/>) of this family, as its transformers class applies it: a tagger's at the
    /// sequence classifier's rate (<see cref="TransformerConfig.ClassifierDropout"/>: <c>classifier_dropout</c>, else the
    /// hidden dropout), DistilBERT's and DeBERTa's at the hidden dropout; a reader's none, but DistilBERT's
    /// <c>qa_dropout</c> and ModernBERT's <c>classifier_dropout</c> (<see cref="TransformerConfig.AnswerDropout"/>).
    /// </summary>
    /// <param name="config">The encoder's config as read (<see cref="WithHeadDropouts"/>).</param>
    /// <param name="kind">The task.</param>
    public float PositionHeadDropout(TransformerConfig config, ModelKind kind) => kind switch
    {
        ModelKind.TokenClassifier => this == DistilBert || this == DebertaV2 || this == DebertaV1 ? config.Dropout : config.ClassifierDropout,
        ModelKind.QuestionAnswerer => config.AnswerDropout,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "A tagger's or a reader's head runs at every position; this kind's does not."),
    };

    /// <summary>
    /// The <c>config.json</c> of an encoder of this family with <paramref name="config"/>'s shape; throws
    /// <see cref="NotSupportedException"/> naming the setting when the family's config cannot say it (reading the
    /// written config back must give the same shape).
    /// </summary>
    /// <param name="config">The encoder's config.</param>
    public JsonObject WriteConfig(TransformerConfig config)
    {
        var json = _writeConfig(config);
        using var doc = JsonDocument.Parse(json.ToJsonString());
        var back = ReadConfig(doc.RootElement, "the written config");
        foreach (var (setting, ours, theirs) in new (string, object, object)[]
        {
            ("VocabSize", config.VocabSize, back.VocabSize), ("ModelDim", config.ModelDim, back.ModelDim), ("Layers", config.Layers, back.Layers),
            ("Heads", config.Heads, back.Heads), ("FeedForwardDim", config.FeedForwardDim, back.FeedForwardDim), ("MaxLength", config.MaxLength, back.MaxLength),
            ("PositionOffset", config.PositionOffset, back.PositionOffset), ("TypeVocabSize", config.TypeVocabSize, back.TypeVocabSize),
            ("LayerNormEps", config.LayerNormEps, back.LayerNormEps), ("Activation", config.Activation, back.Activation), ("Norm", config.Norm, back.Norm),
            ("PositionalEncoding", config.PositionalEncoding, back.PositionalEncoding), ("EmbeddingNorm", config.EmbeddingNorm, back.EmbeddingNorm),
            ("EmbeddingWidth", config.EmbeddingWidth, back.EmbeddingWidth), ("RelativeAttentionBuckets", config.RelativeAttentionBuckets, back.RelativeAttentionBuckets),
            ("LayerGroups", config.LayerGroups, back.LayerGroups), ("DisentangledSpan", config.DisentangledSpan, back.DisentangledSpan),
            ("DisentangledMaxDistance", config.DisentangledMaxDistance, back.DisentangledMaxDistance),
            ("DisentangledOwnProjections", config.DisentangledOwnProjections, back.DisentangledOwnProjections),
            ("DisentangledNorm", config.DisentangledSpan == 0 || config.DisentangledNorm, back.DisentangledSpan == 0 || back.DisentangledNorm),
            ("AttentionKeyBias", !config.Biases || config.AttentionKeyBias, !back.Biases || back.AttentionKeyBias), ("Biases", config.Biases, back.Biases), ("NormBiases", config.NormBiases, back.NormBiases),
            ("GatedFeedForward", config.GatedFeedForward, back.GatedFeedForward),
            // what each block runs, however the settings spell it (a local base equal to the global one, say)
            ("per-block rotary bases", PerBlock(config, config.RotaryThetaOf), PerBlock(back, back.RotaryThetaOf)), ("per-block windows", PerBlock(config, config.WindowOf), PerBlock(back, back.WindowOf)),
            ("FirstBlockAttentionNorm", config.FirstBlockAttentionNorm, back.FirstBlockAttentionNorm), ("Alibi", config.Alibi, back.Alibi),
            ("ExpansionBias", config.Biases && config.ExpansionBias, back.Biases && back.ExpansionBias),
            ("ActivatedHalfFirst", !config.GatedFeedForward || config.ActivatedHalfFirst, !back.GatedFeedForward || back.ActivatedHalfFirst), ("RotaryScaling", config.RotaryScaling, back.RotaryScaling),
            ("MaskTokenDropout", config.MaskTokenDropout, back.MaskTokenDropout),
        })
            if (!ours.Equals(theirs)) throw new NotSupportedException($"A {Name} config.json cannot describe this encoder: its {setting} is {ours}, and {Name} has {theirs}.");
        return json;
    }

    private static string PerBlock<T>(TransformerConfig c, Func<int, T> of) => string.Join(", ", Enumerable.Range(0, c.Layers).Select(of));

    /// <summary>
    /// The family whose checkpoints an encoder of <paramref name="config"/> is written as: ESM when its embeddings have ESM's
    /// token dropout, or its blocks are pre-norm and not gated and it has rotary positions or a LayerNorm on its embeddings
    /// but no token types; MegatronBERT when its blocks are pre-norm, not gated, with learned positions, token types and
    /// no LayerNorm on the embeddings (the library's own pre-norm shape with token types), RoBERTa-PreLayerNorm when they have
    /// one and offset positions, XLM-RoBERTa-XL when they have offset positions and none; JinaBERT when its attention has
    /// ALiBi's biases; GTE when its gated blocks activate the second half or its rotary positions are NTK-scaled; when its positions rotate or its
    /// feed-forward blocks are gated, NomicBERT with post-norm blocks and ModernBERT with pre-norm ones; DeBERTa-v2 when its attention is
    /// disentangled, ALBERT when its blocks are
    /// grouped into shared sets of weights, MPNet when its attention has a
    /// relative position bias, ELECTRA when its embeddings are projected or its first-token layer is ELECTRA's GELU head,
    /// RoBERTa when positions are offset, DistilBERT without token types, BERT otherwise (the one place that decides it).
    /// </summary>
    /// <param name="config">The encoder's config.</param>
    public static EncoderFamily For(TransformerConfig config)
    {
        bool preNorm = config.Norm == NormPlacement.PreNorm && !config.GatedFeedForward;
        // BERT's and RoBERTa's pre-norm kin: learned absolute positions and token types, told apart by the embeddings' norm and the position offset
        bool preNormBert = preNorm && config.RotaryTheta == 0f && config.PositionalEncoding == PositionalEncodingKind.Learned && config.TypeVocabSize > 0;
        return config.MaskTokenDropout >= 0 || (preNorm && (config.RotaryTheta > 0f || config.EmbeddingNorm) && config.TypeVocabSize == 0) ? Esm
        : preNormBert && config.PositionOffset == 0 && !config.EmbeddingNorm ? MegatronBert
        : preNormBert && config.PositionOffset > 0 ? (config.EmbeddingNorm ? RobertaPreLayerNorm : XlmRobertaXl)
        : config.Alibi ? JinaBert
        : config.RotaryInterleaved ? RoFormer
        : (config.GatedFeedForward && !config.ActivatedHalfFirst) || config.RotaryScaling != 1f ? Gte
        : (config.RotaryTheta > 0f || config.GatedFeedForward) && config.Norm == NormPlacement.PostNorm ? NomicBert
        : config.RotaryTheta > 0f || config.GatedFeedForward ? ModernBert
        : config.DisentangledOwnProjections ? DebertaV1
        : config.DisentangledSpan > 0 ? DebertaV2
        : config.LayerGroups > 0 ? Albert
        : config.RelativeAttentionBuckets > 0 ? Mpnet
        : config.ProjectsEmbeddings || config.PoolerActivation == PoolerActivation.Gelu ? Electra
        : config.PositionOffset > 0 ? Roberta : config.TypeVocabSize == 0 ? DistilBert : Bert;
    }

    /// <summary>The checkpoint tensors (without <see cref="Prefix"/>) whose rows, stacked, make engine parameter <paramref name="parameter"/>; null when the family has none.</summary>
    /// <param name="parameter">An engine parameter name (<c>layers.0.self_attn.in_proj_weight</c>).</param>
    public string[]? SourceNames(string parameter) => _names(parameter);

    /// <summary>
    /// The checkpoint tensor of a masked LM's head parameter (<see cref="MaskedLanguageModel"/> with
    /// <see cref="TransformerConfig.MlmTransform"/>: <c>mlm_head.transform.*</c>, <c>mlm_head.bias</c>), spelled as the
    /// family's masked-LM task model stores it (outside the encoder's prefix); null for any other parameter.
    /// </summary>
    /// <param name="parameter">An engine parameter name.</param>
    public string? MaskedLanguageModelName(string parameter) => _mlmHead.GetValueOrDefault(parameter);

    /// <summary>Whether the family's pretraining has a next-sentence head (<c>nsp_head.*</c>: BERT's <c>cls.seq_relationship</c>).</summary>
    public bool HasNextSentenceHead => _mlmHead.ContainsKey("nsp_head.weight");

    /// <summary>Tensors the family's masked-LM head may store besides <see cref="MaskedLanguageModelName"/>'s: its decoder, tied to the word embeddings.</summary>
    public string TiedDecoderName => _mlmHead["decoder"];

    private static Dictionary<string, string> MlmHead(string dense, string norm, string bias, string decoder, string? nextSentence = null)
    {
        var names = new Dictionary<string, string>
        {
            ["mlm_head.transform.dense.weight"] = dense + "weight", ["mlm_head.transform.dense.bias"] = dense + "bias",
            ["mlm_head.transform.norm.weight"] = norm + "weight", ["mlm_head.transform.norm.bias"] = norm + "bias",
            ["mlm_head.bias"] = bias, ["decoder"] = decoder,
        };
        if (nextSentence is not null) (names["nsp_head.weight"], names["nsp_head.bias"]) = (nextSentence + "weight", nextSentence + "bias");
        return names;
    }

    /// <summary>BERT, and MiniLM and other models that use BERT's code (<c>bert</c>).</summary>
    public static EncoderFamily Bert { get; } = new("BERT", ["bert"], "bert.", ["embeddings.", "encoder.", "pooler."],
        (c, src) => BertConfig(c, src, positionOffset: 0), c => WriteBertConfig(c, "bert"), p => BertNames(p, "embeddings.", "encoder.layer."),
        MlmHead("cls.predictions.transform.dense.", "cls.predictions.transform.LayerNorm.", "cls.predictions.bias", "cls.predictions.decoder.weight", "cls.seq_relationship."),
        new SequenceClassifierHead("BertForSequenceClassification", "bert.pooler.dense.", "classifier.", PoolerActivation.Tanh));

    /// <summary>
    /// ERNIE (<c>model_type</c> ernie: ERNIE 1.0, 2.0 and 3.0 as transformers' ErnieModel holds them, under <c>ernie.</c>):
    /// BERT's architecture and names, with, when <c>use_task_id</c>, a task-type table whose row 0 (the task id every input
    /// has unless given one) is added to every token's embedding: it is folded into the position table, the same sum (an
    /// encoder read this way is BERT's, and is written back as BERT).
    /// </summary>
    public static EncoderFamily Ernie { get; } = new("ERNIE", ["ernie"], "ernie.", ["embeddings.", "encoder.", "pooler."],
        ErnieConfig, c => WriteBertConfig(c, "ernie"), p => BertNames(p, "embeddings.", "encoder.layer."),
        MlmHead("cls.predictions.transform.dense.", "cls.predictions.transform.LayerNorm.", "cls.predictions.bias", "cls.predictions.decoder.weight"),
        new SequenceClassifierHead("ErnieForSequenceClassification", "ernie.pooler.dense.", "classifier.", PoolerActivation.Tanh))
    {
        FoldedIntoPositions = "embeddings.task_type_embeddings.weight",
    };

    // ErnieConfig: BERT's keys; use_task_id adds a task-type table (folded into the positions when read).
    private static TransformerConfig ErnieConfig(JsonElement c, string src)
    {
        if (Get(c, "use_task_id") is { ValueKind: JsonValueKind.True } && Int(c, "task_type_vocab_size", src, 3) < 1)
            throw new InvalidDataException($"{src}: use_task_id is true but task_type_vocab_size is below 1.");
        return BertConfig(c, src, positionOffset: 0);
    }

    /// <summary>
    /// A tensor of the family's whose first row is added to every token's embedding (ERNIE's task type 0), read by adding it
    /// to every row of the position table; null = none.
    /// </summary>
    public string? FoldedIntoPositions { get; private init; }

    /// <summary>RoBERTa: BERT's blocks, positions counted from <c>pad_token_id</c> + 1.</summary>
    public static EncoderFamily Roberta { get; } = new("RoBERTa", ["roberta", "xlm-roberta", "camembert"], "roberta.", ["embeddings.", "encoder.", "pooler."],
        (c, src) => BertConfig(c, src, positionOffset: Int(c, "pad_token_id", src, 1) + 1), c => WriteBertConfig(c, "roberta"), p => BertNames(p, "embeddings.", "encoder.layer."),
        MlmHead("lm_head.dense.", "lm_head.layer_norm.", "lm_head.bias", "lm_head.decoder.weight"), new SequenceClassifierHead("RobertaForSequenceClassification", "classifier.dense.", "classifier.out_proj.", PoolerActivation.Tanh));

    /// <summary>
    /// data2vec-text (<c>model_type</c> data2vec-text, e.g. facebook/data2vec-text-base, under <c>data2vec_text.</c>):
    /// RoBERTa's architecture, names, tokenizer and heads; an encoder read this way is RoBERTa's, and is written back as RoBERTa.
    /// </summary>
    public static EncoderFamily Data2VecText { get; } = new("data2vec-text", ["data2vec-text"], "data2vec_text.", ["embeddings.", "encoder.", "pooler."],
        (c, src) => BertConfig(c, src, positionOffset: Int(c, "pad_token_id", src, 1) + 1), c => WriteBertConfig(c, "roberta"), p => BertNames(p, "embeddings.", "encoder.layer."),
        MlmHead("lm_head.dense.", "lm_head.layer_norm.", "lm_head.bias", "lm_head.decoder.weight"),
        new SequenceClassifierHead("Data2VecTextForSequenceClassification", "classifier.dense.", "classifier.out_proj.", PoolerActivation.Tanh));

    /// <summary>DistilBERT: its own tensor names, no token types, no pooler (its heads read the first token).</summary>
    public static EncoderFamily DistilBert { get; } = new("DistilBERT", ["distilbert"], "distilbert.", ["embeddings.", "transformer."], DistilBertConfig, WriteDistilBertConfig, DistilBertNames,
        MlmHead("vocab_transform.", "vocab_layer_norm.", "vocab_projector.bias", "vocab_projector.weight"),
        new SequenceClassifierHead("DistilBertForSequenceClassification", "pre_classifier.", "classifier.", PoolerActivation.Relu));

    /// <summary>
    /// ELECTRA's discriminator (<c>ElectraModel</c>): BERT's blocks under <c>electra.</c>, embeddings of
    /// <c>embedding_size</c> projected to <c>hidden_size</c> by <c>embeddings_project</c> when the two differ, no pooler
    /// (its classification head reads the first token through <c>classifier.dense</c> + GELU). A generator's masked-LM head
    /// (<c>generator_predictions</c> down to the embeddings' width, <c>generator_lm_head</c> tied to the word embeddings) is read for fill-mask.
    /// </summary>
    public static EncoderFamily Electra { get; } = new("ELECTRA", ["electra"], "electra.", ["embeddings.", "embeddings_project.", "encoder."],
        ElectraConfig, WriteElectraConfig, ElectraNames, MlmHead("generator_predictions.dense.", "generator_predictions.LayerNorm.", "generator_lm_head.bias", "generator_lm_head.weight"),
        new SequenceClassifierHead("ElectraForSequenceClassification", "classifier.dense.", "classifier.out_proj.", PoolerActivation.Gelu));

    /// <summary>
    /// RoFormer (<c>RoFormerModel</c>, e.g. junnyu/roformer_chinese_char_base, roformer_small_discriminator; under
    /// <c>roformer.</c>): BERT's word and token-type embeddings and their LayerNorm, no position table, embeddings of
    /// <c>embedding_size</c> projected by <c>embeddings_project</c> when narrower, BERT's post-norm blocks, and rotary
    /// positions in its own layout (<see cref="TransformerConfig.RotaryInterleaved"/>: components 2i and 2i + 1 turned by
    /// p / 10,000^(2i/hd): its <c>encoder.embed_positions</c> table, computed, checked against the stored one and written
    /// with the weights); no pooler, its
    /// classification head ELECTRA's (<c>classifier.dense</c> + GELU on the first token, <c>classifier.out_proj</c>), its
    /// masked-LM head BERT's.
    /// </summary>
    public static EncoderFamily RoFormer { get; } = new("RoFormer", ["roformer"], "roformer.", ["embeddings.", "embeddings_project.", "encoder."],
        RoFormerConfig, WriteRoFormerConfig, ElectraNames,
        MlmHead("cls.predictions.transform.dense.", "cls.predictions.transform.LayerNorm.", "cls.predictions.bias", "cls.predictions.decoder.weight"),
        new SequenceClassifierHead("RoFormerForSequenceClassification", "classifier.dense.", "classifier.out_proj.", PoolerActivation.Gelu))
    {
        DerivedTensors = c => [("encoder.embed_positions.weight", [c.MaxLength, c.ModelDim / c.Heads], RoFormerTable(c))],
    };

    // RoFormerSinusoidalPositionalEmbedding's table [positions, hd]: each row the sines of its angles, then their cosines.
    private static float[] RoFormerTable(TransformerConfig c)
    {
        int hd = c.ModelDim / c.Heads, half = hd / 2;
        var (cos, sin) = new Layers.RotaryPositions(hd, c.RotaryTheta, interleaved: true).Tables(c.MaxLength);
        var table = new float[c.MaxLength * hd];
        for (int p = 0; p < c.MaxLength; p++)
        {
            sin.AsSpan(p * half, half).CopyTo(table.AsSpan(p * hd));
            cos.AsSpan(p * half, half).CopyTo(table.AsSpan(p * hd + half));
        }
        return table;
    }

    /// <summary>
    /// MPNet (<c>MPNetModel</c>, e.g. all-mpnet-base-v2): RoBERTa's positions (from <c>pad_token_id</c> + 1) and no token
    /// types, BERT's post-norm blocks under their own names (<c>attention.attn.q</c>, …), and a learned bias on every
    /// layer's attention scores by relative position (<c>encoder.relative_attention_bias</c>, T5's buckets). Its
    /// classification and masked-LM heads are RoBERTa's.
    /// </summary>
    public static EncoderFamily Mpnet { get; } = new("MPNet", ["mpnet"], "mpnet.", ["embeddings.", "encoder.", "pooler."],
        MpnetConfig, WriteMpnetConfig, MpnetNames, MlmHead("lm_head.dense.", "lm_head.layer_norm.", "lm_head.bias", "lm_head.decoder.weight"),
        new SequenceClassifierHead("MPNetForSequenceClassification", "classifier.dense.", "classifier.out_proj.", PoolerActivation.Tanh));

    /// <summary>
    /// ALBERT (<c>AlbertModel</c>, e.g. albert-base-v2): BERT's embeddings at <c>embedding_size</c> projected to
    /// <c>hidden_size</c> (<c>encoder.embedding_hidden_mapping_in</c>), and <c>num_hidden_layers</c> blocks that share
    /// <c>num_hidden_groups</c> sets of weights (<c>encoder.albert_layer_groups.{g}.albert_layers.0.*</c>; one set in every
    /// released model), BERT's post-norm layer under ALBERT's names, a tanh pooler (<c>pooler</c>, one Linear). Its
    /// classifier reads the pooler, its masked-LM head (<c>predictions.*</c>) narrows to the embeddings' width before the tied decoder.
    /// </summary>
    public static EncoderFamily Albert { get; } = new("ALBERT", ["albert"], "albert.", ["embeddings.", "encoder.", "pooler."],
        AlbertConfig, WriteAlbertConfig, AlbertNames, MlmHead("predictions.dense.", "predictions.LayerNorm.", "predictions.bias", "predictions.decoder.weight"),
        new SequenceClassifierHead("AlbertForSequenceClassification", "albert.pooler.", "classifier.", PoolerActivation.Tanh));

    /// <summary>
    /// DeBERTa-v2 and v3 (<c>DebertaV2Model</c>, e.g. deberta-v3-base; <c>model_type</c> deberta-v2): BERT's post-norm
    /// layers under DeBERTa's names (<c>attention.self.query_proj</c>, …), embeddings without absolute positions (unless
    /// <c>position_biased_input</c>) and, in every layer, disentangled attention over one shared table of relative positions
    /// (<c>encoder.rel_embeddings</c> and <c>encoder.LayerNorm</c>; the engine's <see cref="Layers.DisentangledPositions"/>). Its
    /// classifier's head is <c>pooler.dense</c> + GELU on the first token, then <c>classifier</c>; its masked-LM head
    /// (<c>lm_predictions.lm_head</c>, DebertaV2ForMaskedLM's) is BERT's, the decoder the word embeddings.
    /// </summary>
    public static EncoderFamily DebertaV2 { get; } = new("DeBERTa-v2", ["deberta-v2"], "deberta.", ["embeddings.", "encoder."],
        DebertaV2Config, WriteDebertaV2Config, DebertaV2Names,
        MlmHead("lm_predictions.lm_head.dense.", "lm_predictions.lm_head.LayerNorm.", "lm_predictions.lm_head.bias", "lm_predictions.lm_head.decoder.weight"),
        new SequenceClassifierHead("DebertaV2ForSequenceClassification", "pooler.dense.", "classifier.", PoolerActivation.Gelu))
    {
        IgnoredTensors = ["embeddings.position_embeddings.weight"], // stored by its released checkpoints without position_biased_input, never read
    };

    /// <summary>
    /// DeBERTa v1 (<c>DebertaModel</c>, e.g. deberta-base, deberta-large-mnli; <c>model_type</c> deberta): DeBERTa-v2's
    /// layers and disentangled attention, but one input projection <c>attention.self.in_proj</c> whose rows hold each head's
    /// query, key and value in turn, a query and a value bias (<c>q_bias</c>, <c>v_bias</c>) and no key bias, the relative
    /// positions projected by each layer's own <c>pos_q_proj</c> and <c>pos_proj</c> (no bias), the table of relative
    /// positions not normalized and no log buckets. Its classifier's head is DeBERTa-v2's; its masked-LM head BERT's <c>cls.predictions</c>.
    /// </summary>
    public static EncoderFamily DebertaV1 { get; } = new("DeBERTa", ["deberta"], "deberta.", ["embeddings.", "encoder."],
        DebertaV1Config, WriteDebertaV1Config, DebertaV1Names,
        MlmHead("cls.predictions.transform.dense.", "cls.predictions.transform.LayerNorm.", "cls.predictions.bias", "cls.predictions.decoder.weight"),
        new SequenceClassifierHead("DebertaForSequenceClassification", "pooler.dense.", "classifier.", PoolerActivation.Gelu))
    {
        Repack = HeadsInterleavedQkv,
    };

    /// <summary>
    /// ModernBERT (<c>ModernBertModel</c>, e.g. ModernBERT-base; <c>model_type</c> modernbert): no absolute positions but
    /// rotary ones (<c>global_rope_theta</c>, and <c>local_rope_theta</c> in the layers that attend within a sliding window of
    /// <c>local_attention</c> / 2 on each side, all but every <c>global_attn_every_n_layers</c>-th), pre-norm blocks (the
    /// first without its attention norm) with one query-key-value projection (<c>attn.Wqkv</c>), GeGLU feed-forward
    /// blocks (<c>mlp.Wi</c> holds input and gate), LayerNorms and linear layers without biases, a final norm. Its
    /// classifier's head (<c>head.dense</c>, GELU, <c>head.norm</c>) reads the pooled tokens (<c>classifier_pooling</c>);
    /// its masked-LM head is the same head then the word embeddings as decoder (<c>decoder.bias</c>).
    /// </summary>
    public static EncoderFamily ModernBert { get; } = new("ModernBERT", ["modernbert"], "model.", ["embeddings.", "layers.", "final_norm."],
        ModernBertConfig, WriteModernBertConfig, ModernBertNames, MlmHead("head.dense.", "head.norm.", "decoder.bias", "decoder.weight"),
        new SequenceClassifierHead("ModernBertForSequenceClassification", "head.dense.", "classifier.", PoolerActivation.Gelu) { Norm = "head.norm.", PoolsFirstToken = false });

    /// <summary>
    /// NomicBERT (<c>model_type</c> nomic_bert, e.g. nomic-embed-text-v1.5, as its checkpoints name their tensors): BERT's
    /// word and token-type embeddings and <c>emb_ln</c>, rotary positions instead of absolute ones (<c>rotary_emb_base</c>),
    /// post-norm blocks with one query-key-value projection (<c>attn.Wqkv</c>) and gated feed-forward blocks (SwiGLU: SiLU
    /// of <c>mlp.fc12</c> times <c>mlp.fc11</c>, then <c>mlp.fc2</c>; GeGLU with GELU), linear layers without biases,
    /// LayerNorms with them, an embedding rounded up to a multiple of <c>pad_vocab_size_multiple</c>; its pooler and sequence
    /// classifier are BERT's (<c>pooler.dense</c> + tanh, <c>classifier</c>).
    /// </summary>
    public static EncoderFamily NomicBert { get; } = new("NomicBERT", ["nomic_bert"], "bert.", ["embeddings.", "emb_ln.", "encoder.", "pooler."],
        NomicBertConfig, WriteNomicBertConfig, NomicBertNames, [], new SequenceClassifierHead("NomicBertForSequenceClassification", "bert.pooler.dense.", "classifier.", PoolerActivation.Tanh));

    /// <summary>
    /// JinaBERT (jina-embeddings-v2's <c>JinaBertModel</c>; <c>model_type</c> bert with <c>position_embedding_type</c> alibi):
    /// BERT's word and token-type embeddings and their LayerNorm without a position table, ALiBi's fixed biases on every
    /// attention score instead (<see cref="Layers.AttentionLinearBiases"/>), BERT's post-norm attention, and gated
    /// feed-forward blocks (<c>feed_forward_type</c> geglu or reglu: the activated first half of <c>mlp.gated_layers</c>,
    /// which has no bias, times the second, then <c>mlp.wo</c> and <c>mlp.layernorm</c>); BERT's pooler, masked-LM head and
    /// sequence classifier. An embedding of a multiple of 64 rows fits a tokenizer that rounds up to it (30,528 rows for
    /// BERT's 30,522 tokens).
    /// </summary>
    public static EncoderFamily JinaBert { get; } = new("JinaBERT", ["bert"], "bert.", ["embeddings.", "encoder.", "pooler."],
        JinaBertConfig, WriteJinaBertConfig, JinaBertNames,
        MlmHead("cls.predictions.transform.dense.", "cls.predictions.transform.LayerNorm.", "cls.predictions.bias", "cls.predictions.decoder.weight"),
        new SequenceClassifierHead("JinaBertForSequenceClassification", "bert.pooler.dense.", "classifier.", PoolerActivation.Tanh));

    /// <summary>
    /// MosaicBERT (mosaicml's <c>bert_layers.py</c>, which DNABERT-2 runs too; <c>model_type</c> bert with
    /// <c>alibi_starting_size</c>, its <c>position_embedding_type</c> left "absolute" and ignored): the same architecture as
    /// JinaBERT's with one query-key-value projection (<c>attention.self.Wqkv</c>: the queries, keys and
    /// values in that order, as its rearrange of (t h d) takes them) and GeGLU blocks with exact GELU whatever hidden_act says.
    /// Read and fine-tuned; written back (an encoder's config does not tell the two apart) in JinaBERT's layout, which
    /// JinaBERT's code loads to the same model. Its masked-LM head is BERT's <c>cls.predictions</c> with the decoder's bias as
    /// <c>cls.predictions.decoder.bias</c>.
    /// </summary>
    public static EncoderFamily MosaicBert { get; } = new("MosaicBERT", ["bert"], "bert.", ["embeddings.", "encoder.", "pooler."],
        MosaicBertConfig, WriteJinaBertConfig, MosaicBertNames,
        MlmHead("cls.predictions.transform.dense.", "cls.predictions.transform.LayerNorm.", "cls.predictions.decoder.bias", "cls.predictions.decoder.weight"),
        new SequenceClassifierHead("BertForSequenceClassification", "bert.pooler.dense.", "classifier.", PoolerActivation.Tanh));

    /// <summary>
    /// GTE v1.5 and gte-multilingual (<c>model_type</c> new, Alibaba-NLP/new-impl's <c>NewModel</c>): BERT's word (and, with
    /// <c>type_vocab_size</c>, token-type) embeddings and their LayerNorm, rotary positions (<c>rope_theta</c>; with
    /// <c>rope_scaling</c> of type ntk, the frequencies scaled at every length as its NTKScalingRotaryEmbedding does) or
    /// learned absolute ones, post-norm blocks with one <c>attention.qkv_proj</c> and <c>attention.o_proj</c> (biases), a
    /// gated feed-forward block (<c>mlp.up_gate_proj</c> without a bias: up, then the gate, which is activated; then
    /// <c>mlp.down_proj</c>), <c>attn_ln</c> and <c>mlp_ln</c>; BERT's pooler (<c>pooler.dense</c>, in
    /// <c>NewForSequenceClassification</c>), its masked-LM head <c>lm_head</c> (dense, activation, norm, the tied decoder).
    /// </summary>
    public static EncoderFamily Gte { get; } = new("GTE", ["new"], "new.", ["embeddings.", "encoder.", "pooler."],
        GteConfig, WriteGteConfig, GteNames, MlmHead("lm_head.dense.", "lm_head.norm.", "lm_head.decoder.bias", "lm_head.decoder.weight"),
        new SequenceClassifierHead("NewForSequenceClassification", "new.pooler.dense.", "classifier.", PoolerActivation.Tanh));

    /// <summary>
    /// ESM-2 and ESM-1b (<c>model_type</c> esm: Meta's protein language models, e.g. esm2_t6_8M_UR50D, as transformers'
    /// EsmModel holds them under <c>esm.</c>): pre-norm blocks under BERT's names (<c>attention.LayerNorm</c> before the
    /// attention, <c>LayerNorm</c> before <c>intermediate.dense</c>), a final <c>encoder.emb_layer_norm_after</c>, erf GELU;
    /// ESM-2's rotary positions (base 10,000) without a LayerNorm on the embeddings, or ESM-1b's learned ones from
    /// <c>pad_token_id</c> + 1 with <c>embeddings.layer_norm</c>; no token types; and with <c>token_dropout</c> the mask
    /// token's embeddings zeroed and the rest scaled (<see cref="TransformerConfig.MaskTokenDropout"/>). Its masked-LM
    /// head and sequence classifier are RoBERTa's (<c>lm_head</c>; <c>classifier.dense</c> + tanh, <c>classifier.out_proj</c>).
    /// </summary>
    public static EncoderFamily Esm { get; } = new("ESM", ["esm"], "esm.", ["embeddings.", "encoder.", "pooler."],
        EsmConfig, WriteEsmConfig, EsmNames, MlmHead("lm_head.dense.", "lm_head.layer_norm.", "lm_head.bias", "lm_head.decoder.weight"),
        new SequenceClassifierHead("EsmForSequenceClassification", "classifier.dense.", "classifier.out_proj.", PoolerActivation.Tanh));

    /// <summary>
    /// MegatronBERT (<c>model_type</c> megatron-bert, e.g. nvidia/megatron-bert-cased-345m, under <c>bert.</c>): BERT's
    /// embeddings without their LayerNorm, pre-norm layers (<c>attention.ln</c> before the attention, <c>ln</c> before
    /// <c>intermediate.dense</c>) and a final <c>encoder.ln</c>, BERT's names otherwise, pooler, heads and sequence classifier.
    /// </summary>
    public static EncoderFamily MegatronBert { get; } = new("MegatronBERT", ["megatron-bert"], "bert.", ["embeddings.", "encoder.", "pooler."],
        MegatronBertConfig, c => WriteBertConfig(c, "megatron-bert"), p => PreNormBertNames(p, false, "encoder.ln.", "attention.ln.", "ln."),
        MlmHead("cls.predictions.transform.dense.", "cls.predictions.transform.LayerNorm.", "cls.predictions.bias", "cls.predictions.decoder.weight", "cls.seq_relationship."),
        new SequenceClassifierHead("MegatronBertForSequenceClassification", "bert.pooler.dense.", "classifier.", PoolerActivation.Tanh));

    // MegatronBertConfig: BERT's keys; its blocks pre-norm, its embeddings without a LayerNorm.
    private static TransformerConfig MegatronBertConfig(JsonElement c, string src) =>
        BertConfig(c, src, positionOffset: 0) with { Norm = NormPlacement.PreNorm, EmbeddingNorm = false };

    /// <summary>
    /// RoBERTa-PreLayerNorm (<c>model_type</c> roberta-prelayernorm, e.g. andreasmadsen/efficient_mlm_m0.40, under
    /// <c>roberta_prelayernorm.</c>): RoBERTa's embeddings (with their LayerNorm) and positions, pre-norm layers
    /// (<c>attention.LayerNorm</c> before the attention, <c>intermediate.LayerNorm</c> before <c>intermediate.dense</c>) and a
    /// final <c>LayerNorm</c> on the model before the pooler; RoBERTa's heads.
    /// </summary>
    public static EncoderFamily RobertaPreLayerNorm { get; } = new("RoBERTa-PreLayerNorm", ["roberta-prelayernorm"], "roberta_prelayernorm.", ["embeddings.", "encoder.", "pooler.", "LayerNorm."],
        (c, src) => BertConfig(c, src, positionOffset: Int(c, "pad_token_id", src, 1) + 1) with { Norm = NormPlacement.PreNorm },
        c => WriteBertConfig(c, "roberta-prelayernorm"), p => PreNormBertNames(p, true, "LayerNorm.", "attention.LayerNorm.", "intermediate.LayerNorm."), MlmHead("lm_head.dense.", "lm_head.layer_norm.", "lm_head.bias", "lm_head.decoder.weight"),
        new SequenceClassifierHead("RobertaPreLayerNormForSequenceClassification", "classifier.dense.", "classifier.out_proj.", PoolerActivation.Tanh));

    /// <summary>
    /// XLM-RoBERTa-XL and -XXL (<c>model_type</c> xlm-roberta-xl, under <c>roberta.</c>): RoBERTa's embeddings and positions
    /// without their LayerNorm, pre-norm layers (<c>attention.self_attn_layer_norm</c> before the attention, the layer's
    /// <c>LayerNorm</c> before <c>intermediate.dense</c>) and a final <c>encoder.LayerNorm</c>; RoBERTa's heads.
    /// </summary>
    public static EncoderFamily XlmRobertaXl { get; } = new("XLM-RoBERTa-XL", ["xlm-roberta-xl"], "roberta.", ["embeddings.", "encoder.", "pooler."],
        (c, src) => BertConfig(c, src, positionOffset: Int(c, "pad_token_id", src, 1) + 1) with { Norm = NormPlacement.PreNorm, EmbeddingNorm = false },
        c => WriteBertConfig(c, "xlm-roberta-xl"), p => PreNormBertNames(p, false, "encoder.LayerNorm.", "attention.self_attn_layer_norm.", "LayerNorm."), MlmHead("lm_head.dense.", "lm_head.layer_norm.", "lm_head.bias", "lm_head.decoder.weight"),
        new SequenceClassifierHead("XLMRobertaXLForSequenceClassification", "classifier.dense.", "classifier.out_proj.", PoolerActivation.Tanh));

    // BERT's names for its pre-norm kin (MegatronBERT, RoBERTa-PreLayerNorm, XLM-RoBERTa-XL): BERT's embeddings (their
    // LayerNorm only when embeddingNorm), pooler and attention, the final norm and the norms before the attention and the
    // feed-forward block under the family's own names.
    private static string[]? PreNormBertNames(string p, bool embeddingNorm, string finalNorm, string attentionNorm, string feedForwardNorm) => p switch
    {
        "emb_norm.weight" or "emb_norm.bias" when !embeddingNorm => null,
        "lnf.weight" or "lnf.bias" => [finalNorm + p["lnf.".Length..]],
        "tok.weight" or "pos.weight" or "tok_type.weight" or "emb_norm.weight" or "emb_norm.bias" or "pooler.dense.weight" or "pooler.dense.bias" => BertNames(p, "embeddings.", ""),
        _ => LayerNames(p, "encoder.layer.", "attention.self.query.", "attention.self.key.", "attention.self.value.", "attention.output.dense.",
            attentionNorm, "intermediate.dense.", "output.dense.", feedForwardNorm),
    };

    /// <summary>Every family the readers know.</summary>
    public static IReadOnlyList<EncoderFamily> All { get; } = [Bert, Ernie, Roberta, DistilBert, Electra, Mpnet, Albert, DebertaV1, DebertaV2, ModernBert, NomicBert, JinaBert, MosaicBert, Gte, Esm, MegatronBert, RobertaPreLayerNorm, XlmRobertaXl, Data2VecText, RoFormer];

    // EsmConfig: ESM-2's (rotary) and ESM-1b's (absolute) settings; ESMFold's and the relative_key positions are refused
    // by name. Its code runs erf GELU whatever hidden_act says. Its dropouts (0 in the released models) are placed BERT's
    // way in training; its embeddings have none.
    private static TransformerConfig EsmConfig(JsonElement c, string src)
    {
        string Refuse(string what) => throw new NotSupportedException($"{src}: {what} is not supported; ESM-2's and ESM-1b's settings are.");
        if (Bool(c, "is_folding_model", src, false)) Refuse("is_folding_model true (ESMFold)");
        string positions = Str(c, "position_embedding_type", src, "absolute");
        if (positions is not ("rotary" or "absolute")) Refuse($"position_embedding_type '{positions}' (rotary or absolute)");
        bool rotary = positions == "rotary";
        int offset = rotary ? 0 : Int(c, "pad_token_id", src, 1) + 1, vocab = Int(c, "vocab_size", src);
        int mask = Bool(c, "token_dropout", src, false) ? Int(c, "mask_token_id", src) : -1;
        if (mask >= vocab || mask < -1) throw new InvalidDataException($"{src}: mask_token_id is {mask}; it is a token id below vocab_size = {vocab}.");
        return new TransformerConfig
        {
            VocabSize = vocab, ModelDim = Int(c, "hidden_size", src), Layers = Int(c, "num_hidden_layers", src), Heads = Int(c, "num_attention_heads", src),
            FeedForwardDim = Int(c, "intermediate_size", src), MaxLength = Int(c, "max_position_embeddings", src, 1026) - offset, PositionOffset = offset,
            Dropout = Float(c, "hidden_dropout_prob", src, 0.1f), AttentionDropout = Float(c, "attention_probs_dropout_prob", src, 0.1f),
            LayerNormEps = Float(c, "layer_norm_eps", src, 1e-12f), Activation = Activation.Gelu, Norm = NormPlacement.PreNorm,
            EmbeddingNorm = Bool(c, "emb_layer_norm_before", src, false), PositionalEncoding = rotary ? PositionalEncodingKind.None : PositionalEncodingKind.Learned,
            RotaryTheta = rotary ? 10_000f : 0f, MaskTokenDropout = mask,
            Pooling = Pooling.Cls, // EsmForSequenceClassification reads <cls> (through classifier.dense + tanh)
        };
    }

    private static JsonObject WriteEsmConfig(TransformerConfig c) => new()
    {
        ["model_type"] = "esm", ["architectures"] = new JsonArray("EsmModel"), ["vocab_size"] = c.VocabSize, ["hidden_size"] = c.ModelDim,
        ["num_hidden_layers"] = c.Layers, ["num_attention_heads"] = c.Heads, ["intermediate_size"] = c.FeedForwardDim, ["hidden_act"] = "gelu",
        ["position_embedding_type"] = c.RotaryTheta > 0f ? "rotary" : "absolute", ["max_position_embeddings"] = c.MaxLength + c.PositionOffset,
        ["pad_token_id"] = c.PositionOffset > 0 ? c.PositionOffset - 1 : 1, ["emb_layer_norm_before"] = c.EmbeddingNorm,
        ["token_dropout"] = c.MaskTokenDropout >= 0, ["mask_token_id"] = c.MaskTokenDropout >= 0 ? c.MaskTokenDropout : null,
        ["layer_norm_eps"] = c.LayerNormEps, ["hidden_dropout_prob"] = c.Dropout, ["attention_probs_dropout_prob"] = c.AttentionDropout, ["is_folding_model"] = false,
    };

    private static string[]? EsmNames(string p) => p switch
    {
        "tok.weight" => ["embeddings.word_embeddings.weight"],
        "pos.weight" => ["embeddings.position_embeddings.weight"],
        "emb_norm.weight" or "emb_norm.bias" => ["embeddings.layer_norm." + p["emb_norm.".Length..]],
        "lnf.weight" or "lnf.bias" => ["encoder.emb_layer_norm_after." + p["lnf.".Length..]],
        "pooler.dense.weight" or "pooler.dense.bias" => [p],
        // pre-norm: attention.LayerNorm before the attention, the layer's LayerNorm before the feed-forward block
        _ => LayerNames(p, "encoder.layer.", "attention.self.query.", "attention.self.key.", "attention.self.value.", "attention.output.dense.",
            "attention.LayerNorm.", "intermediate.dense.", "output.dense.", "LayerNorm."),
    };

    // NewConfig (Alibaba-NLP/new-impl): what GTE v1.5's and gte-multilingual's checkpoints use is read, the rest refused
    // by name. unpad_inputs and use_memory_efficient_attention choose kernels (xformers), not results, and are ignored.
    // Its dropouts are placed BERT's way in training.
    private static TransformerConfig GteConfig(JsonElement c, string src)
    {
        string Refuse(string what) => throw new NotSupportedException($"{src}: {what} is not supported; GTE's released settings are.");
        if (Str(c, "layer_norm_type", src, "layer_norm") is var norm && norm != "layer_norm") Refuse($"layer_norm_type '{norm}'");
        if (Bool(c, "logn_attention_scale", src, false)) Refuse("logn_attention_scale true");
        if (!Bool(c, "pack_qkv", src, true)) Refuse("pack_qkv false (separate q_proj, k_proj, v_proj)");
        string positions = Str(c, "position_embedding_type", src, "rope");
        if (positions is not ("rope" or "absolute")) Refuse($"position_embedding_type '{positions}' (rope or absolute)");
        float scaling = 1f;
        if (positions == "rope" && Get(c, "rope_scaling") is { } rope)
        {
            if (rope.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{src}: 'rope_scaling' is {rope}, not an object.");
            string type = Str(rope, "type", src, "");
            if (type != "ntk") Refuse($"rope_scaling type '{type}' (only ntk)");
            if (Get(rope, "mixed_b") is not null) Refuse("rope_scaling mixed_b (mixed NTK scaling)");
            scaling = Float(rope, "factor", src, float.NaN);
            if (!(scaling >= 1f) || float.IsInfinity(scaling)) throw new InvalidDataException($"{src}: rope_scaling's factor is {Get(rope, "factor")?.ToString() ?? "missing"}; it is a number of at least 1.");
        }
        int vocab = Int(c, "vocab_size", src);
        return new TransformerConfig
        {
            VocabSize = vocab, VocabularyMultiple = vocab % 64 == 0 ? 64 : 1, ModelDim = Int(c, "hidden_size", src), Layers = Int(c, "num_hidden_layers", src),
            Heads = Int(c, "num_attention_heads", src), FeedForwardDim = Int(c, "intermediate_size", src), MaxLength = Int(c, "max_position_embeddings", src, 512),
            TypeVocabSize = Int(c, "type_vocab_size", src, 0), Dropout = Float(c, "hidden_dropout_prob", src, 0.1f), AttentionDropout = Float(c, "attention_probs_dropout_prob", src, 0f),
            LayerNormEps = Float(c, "layer_norm_eps", src, 1e-12f), Activation = ActivationOf(Str(c, "hidden_act", src, "gelu"), src), Norm = NormPlacement.PostNorm,
            EmbeddingNorm = true, GatedFeedForward = true, ExpansionBias = false, ActivatedHalfFirst = false,
            PositionalEncoding = positions == "rope" ? PositionalEncodingKind.None : PositionalEncodingKind.Learned,
            RotaryTheta = positions == "rope" ? Float(c, "rope_theta", src, 10_000f) : 0f, RotaryScaling = scaling,
            Pooling = Pooling.Cls, // GTE's sentence vector is the first token's state (its model cards, its sentence-transformers modules)
        };
    }

    private static JsonObject WriteGteConfig(TransformerConfig c)
    {
        if (!c.GatedFeedForward || c.ActivatedHalfFirst) throw new NotSupportedException("GTE's blocks are gated with the activated half second.");
        const string Code = "Alibaba-NLP/new-impl--";
        return new()
        {
            ["model_type"] = "new", ["architectures"] = new JsonArray("NewModel"),
            ["auto_map"] = new JsonObject { ["AutoConfig"] = Code + "configuration.NewConfig", ["AutoModel"] = Code + "modeling.NewModel",
                ["AutoModelForMaskedLM"] = Code + "modeling.NewForMaskedLM", ["AutoModelForSequenceClassification"] = Code + "modeling.NewForSequenceClassification" },
            ["vocab_size"] = c.VocabSize, ["hidden_size"] = c.ModelDim, ["num_hidden_layers"] = c.Layers, ["num_attention_heads"] = c.Heads,
            ["intermediate_size"] = c.FeedForwardDim, ["hidden_act"] = ActivationName(c.Activation), ["max_position_embeddings"] = c.MaxLength,
            ["type_vocab_size"] = c.TypeVocabSize, ["layer_norm_type"] = "layer_norm", ["layer_norm_eps"] = c.LayerNormEps,
            ["hidden_dropout_prob"] = c.Dropout, ["attention_probs_dropout_prob"] = c.AttentionDropout,
            ["position_embedding_type"] = c.RotaryTheta > 0f ? "rope" : "absolute", ["rope_theta"] = c.RotaryTheta > 0f ? c.RotaryTheta : 10_000f,
            ["rope_scaling"] = c.RotaryScaling != 1f ? new JsonObject { ["type"] = "ntk", ["factor"] = c.RotaryScaling } : null,
            ["pack_qkv"] = true, ["logn_attention_scale"] = false, ["unpad_inputs"] = false, ["use_memory_efficient_attention"] = false,
        };
    }

    private static string[]? GteNames(string p) => p switch
    {
        "tok.weight" or "pos.weight" or "tok_type.weight" or "emb_norm.weight" or "emb_norm.bias" or "pooler.dense.weight" or "pooler.dense.bias" => BertNames(p, "embeddings.", ""),
        // q;k;v stacked, as the engine's; up_gate_proj holds up, then the gate (ActivatedHalfFirst false)
        _ => LayerNames(p, "encoder.layer.", ["attention.qkv_proj."], "attention.o_proj.", "attn_ln.", ["mlp.up_gate_proj."], "mlp.down_proj.", "mlp_ln."),
    };

    // JinaBertConfig: BERT's keys, position_embedding_type alibi and feed_forward_type (geglu: GELU, reglu: ReLU, on the
    // gated layer's first half). Its dropouts are placed BERT's way in training.
    private static TransformerConfig JinaBertConfig(JsonElement c, string src)
    {
        var config = BertConfig(c, src, positionOffset: 0, alibi: true);
        string kind = Str(c, "feed_forward_type", src, "original");
        var activation = kind switch
        {
            "geglu" => Activation.Gelu, "reglu" => Activation.Relu,
            _ => throw new NotSupportedException($"{src}: feed_forward_type '{kind}' is not supported; supported: geglu, reglu (jina-embeddings-v2's gated blocks)."),
        };
        // The engine runs one activation in the blocks and the masked-LM head (hidden_act's).
        if (config.Activation != activation)
            throw new NotSupportedException($"{src}: hidden_act '{Str(c, "hidden_act", src, "gelu")}' with feed_forward_type '{kind}' is not supported; the two name one activation in the engine.");
        int multiple = config.VocabSize % 64 == 0 ? 64 : 1;
        return config with { GatedFeedForward = true, ExpansionBias = false, VocabularyMultiple = multiple };
    }

    private static JsonObject WriteJinaBertConfig(TransformerConfig c)
    {
        if (!c.GatedFeedForward || c.Activation is not (Activation.Gelu or Activation.Relu))
            throw new NotSupportedException($"JinaBERT's blocks are gated with GELU or ReLU; this encoder's are {(c.GatedFeedForward ? "gated with " + c.Activation : "not gated")}.");
        var json = WriteBertConfig(c, "bert");
        json["architectures"] = new JsonArray("JinaBertModel");
        const string Code = "jinaai/jina-bert-implementation--";
        json["auto_map"] = new JsonObject { ["AutoConfig"] = Code + "configuration_bert.JinaBertConfig", ["AutoModel"] = Code + "modeling_bert.JinaBertModel",
            ["AutoModelForMaskedLM"] = Code + "modeling_bert.JinaBertForMaskedLM", ["AutoModelForSequenceClassification"] = Code + "modeling_bert.JinaBertForSequenceClassification" };
        json["position_embedding_type"] = "alibi";
        json["feed_forward_type"] = c.Activation == Activation.Gelu ? "geglu" : "reglu";
        return json;
    }

    // MosaicBERT's BertConfig: BERT's keys with ALiBi (alibi_starting_size says its code; position_embedding_type is ignored
    // there) and GeGLU blocks of exact GELU (its BertGatedLinearUnitMLP's nn.GELU(approximate='none')).
    private static TransformerConfig MosaicBertConfig(JsonElement c, string src)
    {
        var config = BertConfig(c, src, positionOffset: 0, alibi: true, positionKindFromCode: true);
        if (config.Activation != Activation.Gelu)
            throw new NotSupportedException($"{src}: hidden_act '{Str(c, "hidden_act", src, "gelu")}' is not supported for MosaicBERT, whose gated blocks run exact GELU; the engine runs one activation.");
        return config with { GatedFeedForward = true, ExpansionBias = false, VocabularyMultiple = config.VocabSize % 64 == 0 ? 64 : 1 };
    }

    // q;k;v stacked in Wqkv, as the engine's
    private static string[]? MosaicBertNames(string p) => AlibiBertNames(p, ["attention.self.Wqkv."]);

    private static string[]? JinaBertNames(string p) => AlibiBertNames(p, ["attention.self.query.", "attention.self.key.", "attention.self.value."]);

    // JinaBERT's and MosaicBERT's tensors: BERT's embeddings without a position table, the attention's projection from qkv
    // (apart or packed), and the gated block, whose first half the engine activates as their GLU MLP does gated_layers'.
    private static string[]? AlibiBertNames(string p, string[] qkv) => p switch
    {
        "tok.weight" or "tok_type.weight" or "emb_norm.weight" or "emb_norm.bias" or "pooler.dense.weight" or "pooler.dense.bias" => BertNames(p, "embeddings.", ""),
        "pos.weight" => null,
        _ => LayerNames(p, "encoder.layer.", qkv, "attention.output.dense.", "attention.output.LayerNorm.", ["mlp.gated_layers."], "mlp.wo.", "mlp.layernorm."),
    };

    // NomicBertConfig (a GPT2Config: n_embd, n_head, n_layer, n_inner, n_positions; hidden_size and the like also read).
    // What nomic-embed's checkpoints use is read; anything else is refused by name. Its residual dropout (resid_pdrop) is
    // the engine's Dropout, which also drops inside the feed-forward block (NomicBERT's does not); 0 in released models.
    private static TransformerConfig NomicBertConfig(JsonElement c, string src)
    {
        string Refuse(string what) => throw new NotSupportedException($"{src}: {what} is not supported; nomic-embed's settings are.");
        int Either(string gpt2, string bert, int? fallback = null) => Get(c, gpt2) is not null ? Int(c, gpt2, src) : Int(c, bert, src, fallback);
        bool Flag(string key) => Bool(c, key, src, false);
        foreach (var key in new[] { "prenorm", "causal", "use_rms_norm", "parallel_block", "rotary_emb_interleaved", "rotary_head_dim", "scale_attn_by_inverse_layer_idx" })
            if (Flag(key)) Refuse($"{key} true");
        foreach (var key in new[] { "rotary_scaling_factor", "rotary_emb_scale_base" })
            if (Get(c, key) is not null) Refuse($"{key} {Get(c, key)} (dynamic or scaled rotary positions)");
        bool biases = Flag("qkv_proj_bias");
        foreach (var key in new[] { "mlp_fc1_bias", "mlp_fc2_bias" })
            if (Flag(key) != biases) Refuse($"{key} {Flag(key).ToString().ToLowerInvariant()} with qkv_proj_bias {biases.ToString().ToLowerInvariant()} (the three alike)");
        string function = Str(c, "activation_function", src, "swiglu");
        var activation = function switch
        {
            "swiglu" => Activation.Silu, "geglu" => Activation.Gelu,
            _ => throw new NotSupportedException($"{src}: activation_function '{function}' is not supported; supported: swiglu, geglu."),
        };
        double fraction = Get(c, "rotary_emb_fraction") is { } f ? (f.ValueKind == JsonValueKind.Number ? f.GetDouble() : throw new InvalidDataException($"{src}: 'rotary_emb_fraction' is {f}, not a number.")) : 0.0;
        if (fraction != 0 && fraction != 1) Refuse($"rotary_emb_fraction {fraction} (only 0 or 1: every dimension or none rotates)");
        int vocab = Int(c, "vocab_size", src), multiple = Math.Max(1, Int(c, "pad_vocab_size_multiple", src, 1)), dim = Either("n_embd", "hidden_size");
        if (vocab % multiple != 0) vocab += multiple - vocab % multiple; // NomicBertModel rounds the rows up itself
        return new TransformerConfig
        {
            VocabSize = vocab, VocabularyMultiple = multiple, ModelDim = dim, Heads = Either("n_head", "num_attention_heads"), Layers = Either("n_layer", "num_hidden_layers"),
            // NomicBERT's gated MLP rounds its width up to a multiple of 256 (NomciBertGatedMLP's multiple_of).
            FeedForwardDim = ((Get(c, "n_inner") is not null || Get(c, "intermediate_size") is not null ? Either("n_inner", "intermediate_size") : 4 * dim) + 255) / 256 * 256,
            MaxLength = Either("n_positions", "max_position_embeddings", 2048), TypeVocabSize = Int(c, "type_vocab_size", src, 2),
            Dropout = Float(c, "resid_pdrop", src, 0f), AttentionDropout = Float(c, "attn_pdrop", src, 0f), LayerNormEps = Float(c, "layer_norm_epsilon", src, 1e-5f),
            Activation = activation, GatedFeedForward = true, Biases = biases, Norm = NormPlacement.PostNorm, EmbeddingNorm = true,
            PositionalEncoding = fraction > 0 ? PositionalEncodingKind.None : PositionalEncodingKind.Learned,
            RotaryTheta = fraction > 0 ? Float(c, "rotary_emb_base", src, 10_000f) : 0f,
        };
    }

    private static JsonObject WriteNomicBertConfig(TransformerConfig c) => new()
    {
        ["model_type"] = "nomic_bert", ["architectures"] = new JsonArray("NomicBertModel"), ["vocab_size"] = c.VocabSize, ["pad_vocab_size_multiple"] = c.VocabularyMultiple,
        ["n_embd"] = c.ModelDim, ["n_head"] = c.Heads, ["n_layer"] = c.Layers, ["n_inner"] = c.FeedForwardDim, ["n_positions"] = c.MaxLength,
        ["type_vocab_size"] = c.TypeVocabSize, ["activation_function"] = c.Activation == Activation.Silu ? "swiglu" : c.Activation == Activation.Gelu ? "geglu"
            : throw new NotSupportedException($"NomicBERT's gated blocks are SwiGLU or GeGLU, not {c.Activation}."),
        ["rotary_emb_fraction"] = c.RotaryTheta > 0f ? 1.0 : 0.0, ["rotary_emb_base"] = c.RotaryTheta > 0f ? c.RotaryTheta : 10_000f, ["rotary_emb_interleaved"] = false,
        ["qkv_proj_bias"] = c.Biases, ["mlp_fc1_bias"] = c.Biases, ["mlp_fc2_bias"] = c.Biases, ["prenorm"] = false, ["causal"] = false,
        ["layer_norm_epsilon"] = c.LayerNormEps, ["resid_pdrop"] = c.Dropout, ["embd_pdrop"] = c.Dropout, ["attn_pdrop"] = c.AttentionDropout,
    };

    private static string[]? NomicBertNames(string p) => p switch
    {
        "tok.weight" => ["embeddings.word_embeddings.weight"],
        "tok_type.weight" => ["embeddings.token_type_embeddings.weight"],
        "pos.weight" => ["embeddings.position_embeddings.weight"],
        "emb_norm.weight" or "emb_norm.bias" => ["emb_ln." + p["emb_norm.".Length..]],
        "pooler.dense.weight" or "pooler.dense.bias" => [p],
        // the engine's gated block activates its first half: fc12 (the gate NomicBERT activates), then fc11
        _ => LayerNames(p, "encoder.layers.", ["attn.Wqkv."], "attn.out_proj.", "norm1.", ["mlp.fc12.", "mlp.fc11."], "mlp.fc2.", "norm2."),
    };

    // ModernBertConfig. Its dropouts are placed BERT's way in training (embeddings and feed-forward by the larger of
    // embedding_dropout and mlp_dropout, attention probabilities by attention_dropout); the released models use none.
    private static TransformerConfig ModernBertConfig(JsonElement c, string src)
    {
        string Refuse(string what) => throw new NotSupportedException($"{src}: {what} is not supported; ModernBERT's released settings are.");
        bool Flag(string key, bool fallback = false) => Bool(c, key, src, fallback);
        bool biases = Flag("attention_bias"), normBiases = Flag("norm_bias");
        if (Flag("mlp_bias") != biases) Refuse($"mlp_bias {Flag("mlp_bias").ToString().ToLowerInvariant()} with attention_bias {biases.ToString().ToLowerInvariant()} (the two alike)");
        if (!Flag("decoder_bias", fallback: true)) Refuse("decoder_bias false");
        string activation = Str(c, "hidden_activation", src, "gelu"), classifierActivation = Str(c, "classifier_activation", src, "gelu");
        if (classifierActivation != activation) Refuse($"classifier_activation '{classifierActivation}' unlike hidden_activation '{activation}'");
        if (ActivationOf(classifierActivation, src) != Activation.Gelu) Refuse($"classifier_activation '{classifierActivation}' (only gelu)");
        int layers = Int(c, "num_hidden_layers", src), window = Int(c, "local_attention", src, 128);
        if (window < 2 || window % 2 != 0) throw new InvalidDataException($"{src}: local_attention is {window}; it is an even window of at least 2.");
        // Which layers attend locally: global_attn_every_n_layers, or the newer layer_types list of the same pattern.
        int every = Int(c, "global_attn_every_n_layers", src, 3);
        if (Get(c, "layer_types") is { ValueKind: JsonValueKind.Array } types)
        {
            // every: the index of the second full_attention layer (1 when none slides, the layer count when only the first is full)
            var kinds = types.EnumerateArray().Select(t => t.ToString()).ToArray();
            int second = Array.IndexOf(kinds, "full_attention", Math.Min(1, kinds.Length));
            every = !kinds.Contains("sliding_attention") ? 1 : second > 0 ? second : layers;
            var expected = Enumerable.Range(0, layers).Select(i => i % every == 0 ? "full_attention" : "sliding_attention");
            if (kinds.Length != layers || !kinds.SequenceEqual(expected))
                Refuse($"layer_types [{string.Join(", ", kinds)}] (only a full_attention layer every n layers, the rest sliding_attention)");
        }
        if (every < 1) throw new InvalidDataException($"{src}: global_attn_every_n_layers is {every}; it must be at least 1.");
        float Theta(string kind, string oldKey, float fallback)
        {
            if (Get(c, "rope_parameters") is { ValueKind: JsonValueKind.Object } rope && rope.TryGetProperty(kind, out var p) && p.ValueKind == JsonValueKind.Object)
            {
                if (p.TryGetProperty("rope_type", out var type) && type.GetString() != "default") Refuse($"rope_type '{type.GetString()}' for {kind} (only default)");
                if (p.TryGetProperty("rope_theta", out var theta)) return theta.ValueKind == JsonValueKind.Number ? (float)theta.GetDouble() : throw new InvalidDataException($"{src}: {kind}'s rope_theta is {theta}, not a number.");
            }
            if (Get(c, "rope_scaling") is { ValueKind: JsonValueKind.Object }) Refuse("rope_scaling");
            return Float(c, oldKey, src, fallback);
        }
        return new TransformerConfig
        {
            VocabSize = Int(c, "vocab_size", src), ModelDim = Int(c, "hidden_size", src), Layers = layers, Heads = Int(c, "num_attention_heads", src),
            FeedForwardDim = Int(c, "intermediate_size", src), MaxLength = Int(c, "max_position_embeddings", src, 8192),
            Dropout = Math.Max(Float(c, "embedding_dropout", src, 0f), Float(c, "mlp_dropout", src, 0f)), AttentionDropout = Float(c, "attention_dropout", src, 0f),
            LayerNormEps = Float(c, "norm_eps", src, 1e-5f), Activation = ActivationOf(activation, src), Norm = NormPlacement.PreNorm,
            PositionalEncoding = PositionalEncodingKind.None, EmbeddingNorm = true, Biases = biases, NormBiases = normBiases, PoolerBias = Flag("classifier_bias"), GatedFeedForward = true,
            RotaryTheta = Theta("full_attention", "global_rope_theta", 160_000f), LocalRotaryTheta = Theta("sliding_attention", "local_rope_theta", 10_000f),
            SlidingWindow = window / 2, GlobalAttentionEvery = every, FirstBlockAttentionNorm = false,
            Pooling = Str(c, "classifier_pooling", src, "cls") switch
            {
                "cls" => Pooling.Cls, "mean" => Pooling.Mean, var other => throw new NotSupportedException($"{src}: classifier_pooling '{other}' is not supported; supported: cls, mean."),
            },
            PoolerActivation = PoolerActivation.Gelu,
        };
    }

    private static JsonObject WriteModernBertConfig(TransformerConfig c) => new()
    {
        ["model_type"] = "modernbert", ["architectures"] = new JsonArray("ModernBertModel"), ["vocab_size"] = c.VocabSize, ["hidden_size"] = c.ModelDim,
        ["num_hidden_layers"] = c.Layers, ["num_attention_heads"] = c.Heads, ["intermediate_size"] = c.FeedForwardDim, ["hidden_activation"] = ActivationName(c.Activation),
        ["max_position_embeddings"] = c.MaxLength, ["norm_eps"] = c.LayerNormEps, ["norm_bias"] = c.NormBiases, ["attention_bias"] = c.Biases, ["mlp_bias"] = c.Biases,
        ["classifier_bias"] = c.PoolerBias, ["classifier_activation"] = ActivationName(c.Activation), ["decoder_bias"] = true,
        ["global_rope_theta"] = c.RotaryTheta, ["local_rope_theta"] = c.LocalRotaryTheta > 0f ? c.LocalRotaryTheta : c.RotaryTheta,
        ["local_attention"] = 2 * (c.SlidingWindow > 0 ? c.SlidingWindow : c.MaxLength), ["global_attn_every_n_layers"] = c.SlidingWindow > 0 ? c.GlobalAttentionEvery : 1,
        ["embedding_dropout"] = c.Dropout, ["mlp_dropout"] = c.Dropout, ["attention_dropout"] = c.AttentionDropout,
        ["classifier_pooling"] = c.Pooling == Pooling.Mean ? "mean" : "cls",
    };

    private static string[]? ModernBertNames(string p) => p switch
    {
        "tok.weight" => ["embeddings.tok_embeddings.weight"],
        "emb_norm.weight" or "emb_norm.bias" => ["embeddings.norm." + p["emb_norm.".Length..]],
        "lnf.weight" or "lnf.bias" => ["final_norm." + p["lnf.".Length..]],
        // q;k;v stacked in Wqkv, as the engine's; Wi holds input then gate, as chunk(2) splits it. Its pooler is its classifier's head.
        _ => LayerNames(p, "layers.", ["attn.Wqkv."], "attn.Wo.", "attn_norm.", ["mlp.Wi."], "mlp.Wo.", "mlp_norm."),
    };

    /// <summary>The family of a config.json <c>model_type</c>; throws naming it when no family reads it.</summary>
    /// <param name="modelType">The model_type value.</param>
    /// <param name="source">Names the file in error messages.</param>
    public static EncoderFamily ForModelType(string modelType, string source) =>
        All.FirstOrDefault(f => f.ModelTypes.Contains(modelType, StringComparer.OrdinalIgnoreCase))
        ?? throw new NotSupportedException($"{source}: model_type '{modelType}' is not supported; supported: {string.Join(", ", All.SelectMany(f => f.ModelTypes).Distinct())}.");

    /// <summary>
    /// The family of a parsed <c>config.json</c>: by <c>model_type</c>; a <c>bert</c> whose <c>position_embedding_type</c>
    /// is alibi is JinaBERT, and one with <c>alibi_starting_size</c> MosaicBERT (their code keeps BERT's model_type).
    /// </summary>
    /// <param name="config">The parsed config.json root (an object with a string model_type).</param>
    /// <param name="source">Names the file in error messages.</param>
    public static EncoderFamily ForConfig(JsonElement config, string source)
    {
        string modelType = Str(config, "model_type", source, "");
        var family = ForModelType(modelType, source);
        if (family != Bert) return family;
        return Str(config, "position_embedding_type", source, "absolute") == "alibi" ? JinaBert : Get(config, "alibi_starting_size") is not null ? MosaicBert : family;
    }

    // positionKindFromCode: the family's code fixes the positions whatever position_embedding_type says (MosaicBERT's ALiBi).
    private static TransformerConfig BertConfig(JsonElement c, string src, int positionOffset, bool alibi = false, bool positionKindFromCode = false)
    {
        // BERT's code also offers relative position scores (relative_key), which the engine does not; JinaBERT's has ALiBi.
        string positionKind = Str(c, "position_embedding_type", src, "absolute");
        if (!positionKindFromCode && positionKind != (alibi ? "alibi" : "absolute"))
            throw new NotSupportedException($"{src}: position_embedding_type '{positionKind}' is not supported; supported: absolute, alibi (JinaBERT).");
        int positions = Int(c, "max_position_embeddings", src, 512);
        return new TransformerConfig
        {
            VocabSize = Int(c, "vocab_size", src), ModelDim = Int(c, "hidden_size", src), Layers = Int(c, "num_hidden_layers", src),
            Heads = Int(c, "num_attention_heads", src), FeedForwardDim = Int(c, "intermediate_size", src),
            MaxLength = positions - positionOffset, PositionOffset = positionOffset, TypeVocabSize = Int(c, "type_vocab_size", src, 2),
            Dropout = Float(c, "hidden_dropout_prob", src, 0.1f), AttentionDropout = Float(c, "attention_probs_dropout_prob", src, 0.1f), LayerNormEps = Float(c, "layer_norm_eps", src, 1e-12f),
            Activation = ActivationOf(Str(c, "hidden_act", src, "gelu"), src), Norm = NormPlacement.PostNorm,
            PositionalEncoding = alibi ? PositionalEncodingKind.None : PositionalEncodingKind.Learned, Alibi = alibi, EmbeddingNorm = true,
        };
    }

    // BertConfig's keys (RoBERTa's too: its positions start after pad_token_id, so they number MaxLength + offset).
    private static JsonObject WriteBertConfig(TransformerConfig c, string modelType) => new()
    {
        ["model_type"] = modelType,
        ["architectures"] = new JsonArray(modelType switch
        {
            "roberta" => "RobertaModel", "megatron-bert" => "MegatronBertModel", "roberta-prelayernorm" => "RobertaPreLayerNormModel", "xlm-roberta-xl" => "XLMRobertaXLModel",
            "ernie" => "ErnieModel", _ => "BertModel",
        }),
        ["vocab_size"] = c.VocabSize, ["hidden_size"] = c.ModelDim, ["num_hidden_layers"] = c.Layers, ["num_attention_heads"] = c.Heads,
        ["intermediate_size"] = c.FeedForwardDim, ["hidden_act"] = ActivationName(c.Activation), ["max_position_embeddings"] = c.MaxLength + c.PositionOffset,
        ["type_vocab_size"] = c.TypeVocabSize, ["layer_norm_eps"] = c.LayerNormEps, ["hidden_dropout_prob"] = c.Dropout,
        ["attention_probs_dropout_prob"] = c.AttentionDropout, ["pad_token_id"] = c.PositionOffset > 0 ? c.PositionOffset - 1 : 0,
    };

    // ElectraConfig: BERT's keys and embedding_size; the head on the first token is GELU (ElectraClassificationHead).
    private static TransformerConfig ElectraConfig(JsonElement c, string src)
    {
        var config = BertConfig(c, src, positionOffset: 0);
        int width = Int(c, "embedding_size", src, config.ModelDim);
        return config with { EmbeddingDim = width == config.ModelDim ? 0 : width, Pooling = Pooling.Cls, PoolerActivation = PoolerActivation.Gelu };
    }

    private static JsonObject WriteElectraConfig(TransformerConfig c)
    {
        var json = WriteBertConfig(c, "bert");
        json["model_type"] = "electra";
        json["architectures"] = new JsonArray("ElectraModel");
        json["embedding_size"] = c.EmbeddingWidth;
        return json;
    }

    // RoFormerConfig: BERT's keys and embedding_size; rotary positions in RoFormer's layout instead of a position table,
    // over max_position_embeddings; the head on the first token activates by hidden_act (GELU in the released models).
    private static TransformerConfig RoFormerConfig(JsonElement c, string src)
    {
        if (Get(c, "rotary_value") is { ValueKind: JsonValueKind.True })
            throw new NotSupportedException($"{src}: rotary_value true (RoFormer rotating the attention's values too) is not supported; supported: false.");
        var config = BertConfig(c, src, positionOffset: 0);
        if (config.Activation != Activation.Gelu)
            throw new NotSupportedException($"{src}: hidden_act '{Str(c, "hidden_act", src, "gelu")}' is not supported for RoFormer (its classification head activates by it); supported: gelu.");
        int width = Int(c, "embedding_size", src, config.ModelDim);
        return config with
        {
            EmbeddingDim = width == config.ModelDim ? 0 : width, PositionalEncoding = PositionalEncodingKind.None, RotaryTheta = 10_000f, RotaryInterleaved = true,
            Pooling = Pooling.Cls, PoolerActivation = PoolerActivation.Gelu,
        };
    }

    private static JsonObject WriteRoFormerConfig(TransformerConfig c)
    {
        var json = WriteBertConfig(c, "bert");
        json["model_type"] = "roformer";
        json["architectures"] = new JsonArray("RoFormerModel");
        json["embedding_size"] = c.EmbeddingWidth;
        json["rotary_value"] = false;
        return json;
    }

    // MPNetConfig: BERT's keys without token types, positions after pad_token_id, the relative bias's buckets.
    private static TransformerConfig MpnetConfig(JsonElement c, string src) =>
        BertConfig(c, src, positionOffset: Int(c, "pad_token_id", src, 1) + 1) with { TypeVocabSize = 0, RelativeAttentionBuckets = Int(c, "relative_attention_num_buckets", src, 32) };

    private static JsonObject WriteMpnetConfig(TransformerConfig c)
    {
        var json = WriteBertConfig(c, "roberta");
        json.Remove("type_vocab_size");
        json["model_type"] = "mpnet";
        json["architectures"] = new JsonArray("MPNetModel");
        json["relative_attention_num_buckets"] = c.RelativeAttentionBuckets;
        return json;
    }

    // AlbertConfig: BERT's keys, embedding_size, and the groups of shared layers (inner_group_num layers per group: 1 in
    // every released model, the only count read). ALBERT projects its embeddings (embedding_hidden_mapping_in) even at
    // equal widths, which the engine's projection (made only when the widths differ) does not say.
    private static TransformerConfig AlbertConfig(JsonElement c, string src)
    {
        var config = BertConfig(c, src, positionOffset: 0);
        int inner = Int(c, "inner_group_num", src, 1), groups = Int(c, "num_hidden_groups", src, 1), width = Int(c, "embedding_size", src, 128);
        if (inner != 1) throw new NotSupportedException($"{src}: inner_group_num {inner} is not supported; supported: 1 (every released ALBERT).");
        if (groups < 1 || groups > config.Layers) throw new InvalidDataException($"{src}: num_hidden_groups is {groups}; it must be between 1 and num_hidden_layers ({config.Layers}).");
        if (width == config.ModelDim) throw new NotSupportedException($"{src}: embedding_size equal to hidden_size ({width}) is not supported for ALBERT (every released ALBERT projects narrower embeddings).");
        return config with
        {
            EmbeddingDim = width, LayerGroups = groups, Activation = ActivationOf(Str(c, "hidden_act", src, "gelu_new"), src),
            Dropout = Float(c, "hidden_dropout_prob", src, 0f), AttentionDropout = Float(c, "attention_probs_dropout_prob", src, 0f),
        };
    }

    private static JsonObject WriteAlbertConfig(TransformerConfig c)
    {
        var json = WriteBertConfig(c, "bert");
        json["model_type"] = "albert";
        json["architectures"] = new JsonArray("AlbertModel");
        json["embedding_size"] = c.EmbeddingWidth;
        json["num_hidden_groups"] = c.LayerGroups;
        json["inner_group_num"] = 1;
        json["bos_token_id"] = 2;
        json["eos_token_id"] = 3;
        return json;
    }

    private static string[]? AlbertNames(string p) => p switch
    {
        "emb_proj.weight" => ["encoder.embedding_hidden_mapping_in.weight"],
        "emb_proj.bias" => ["encoder.embedding_hidden_mapping_in.bias"],
        "pooler.dense.weight" => ["pooler.weight"],
        "pooler.dense.bias" => ["pooler.bias"],
        "tok.weight" or "pos.weight" or "tok_type.weight" or "emb_norm.weight" or "emb_norm.bias" => BertNames(p, "embeddings.", ""),
        _ => LayerNames(p, "encoder.albert_layer_groups.", "albert_layers.0.attention.query.", "albert_layers.0.attention.key.", "albert_layers.0.attention.value.",
            "albert_layers.0.attention.dense.", "albert_layers.0.attention.LayerNorm.", "albert_layers.0.ffn.", "albert_layers.0.ffn_output.", "albert_layers.0.full_layer_layer_norm."),
    };

    // DebertaV2Config: BERT's keys and the disentangled attention's. Only what DeBERTa-v3's models use is read: relative
    // attention with c2p and p2c through the layers' own projections (share_att_key), the table LayerNorm-ed, embeddings
    // as wide as the layers, and deberta-v2-xlarge's convolution after the first layer; anything else is refused by name.
    private static TransformerConfig DebertaV2Config(JsonElement c, string src)
    {
        var config = BertConfig(c, src, positionOffset: 0);
        string Refuse(string what) => throw new NotSupportedException($"{src}: {what} is not supported; DeBERTa-v3's settings are.");
        if (Get(c, "relative_attention") is not { ValueKind: JsonValueKind.True }) Refuse("relative_attention other than true");
        if (Get(c, "share_att_key") is not { ValueKind: JsonValueKind.True }) Refuse("share_att_key other than true");
        var kinds = PositionAttentionKinds(c);
        if (!kinds.SetEquals(["c2p", "p2c"])) Refuse($"pos_att_type [{string.Join(", ", kinds)}] (only both c2p and p2c)");
        if (!Str(c, "norm_rel_ebd", src, "none").Split('|').Select(x => x.Trim()).Contains("layer_norm")) Refuse("norm_rel_ebd without layer_norm");
        int conv = Int(c, "conv_kernel_size", src, 0);
        if (conv < 0 || (conv > 0 && conv % 2 == 0)) Refuse($"conv_kernel_size {conv} (an odd kernel keeps the sequence's length)");
        if (conv > 0 && Int(c, "conv_groups", src, 1) != 1) Refuse($"conv_groups {Int(c, "conv_groups", src, 1)} (only 1)");
        string convAct = Str(c, "conv_act", src, "tanh");
        if (conv > 0 && convAct is not ("tanh" or "gelu")) Refuse($"conv_act '{convAct}' (only tanh and gelu)");
        if (Int(c, "embedding_size", src, config.ModelDim) != config.ModelDim) Refuse("embedding_size other than hidden_size");
        if (Int(c, "attention_head_size", src, config.ModelDim / config.Heads) != config.ModelDim / config.Heads) Refuse("attention_head_size other than hidden_size / heads");
        if (Int(c, "pooler_hidden_size", src, config.ModelDim) != config.ModelDim) Refuse("pooler_hidden_size other than hidden_size");
        if (Str(c, "pooler_hidden_act", src, "gelu") != "gelu") Refuse($"pooler_hidden_act '{Str(c, "pooler_hidden_act", src, "gelu")}' (only gelu)");
        int positions = Int(c, "max_position_embeddings", src, 512), maxRelative = Int(c, "max_relative_positions", src, -1), buckets = Int(c, "position_buckets", src, -1);
        if (maxRelative < 1) maxRelative = positions;
        bool biasedInput = Get(c, "position_biased_input") is not { ValueKind: JsonValueKind.False };
        return config with
        {
            TypeVocabSize = Int(c, "type_vocab_size", src, 0), LayerNormEps = Float(c, "layer_norm_eps", src, 1e-7f),
            PositionalEncoding = biasedInput ? PositionalEncodingKind.Learned : PositionalEncodingKind.None,
            DisentangledSpan = buckets > 0 ? buckets : maxRelative, DisentangledMaxDistance = buckets > 0 ? maxRelative : 0,
            Pooling = Pooling.Cls, PoolerActivation = PoolerActivation.Gelu,
            ConvKernel = conv, ConvActivation = convAct == "gelu" ? PoolerActivation.Gelu : PoolerActivation.Tanh,
        };
    }

    // DebertaConfig (v1): BERT's keys and the disentangled attention's, read as DeBERTa-v2's are but with the layers' own
    // position projections, no table norm and no log buckets; what its released models do not use is refused by name.
    private static TransformerConfig DebertaV1Config(JsonElement c, string src)
    {
        var config = BertConfig(c, src, positionOffset: 0);
        string Refuse(string what) => throw new NotSupportedException($"{src}: {what} is not supported; DeBERTa's released settings are.");
        if (Get(c, "relative_attention") is not { ValueKind: JsonValueKind.True }) Refuse("relative_attention other than true");
        if (Get(c, "talking_head") is { ValueKind: JsonValueKind.True }) Refuse("talking_head");
        if (!PositionAttentionKinds(c).SetEquals(["c2p", "p2c"])) Refuse($"pos_att_type [{string.Join(", ", PositionAttentionKinds(c))}] (only both c2p and p2c)");
        if (Int(c, "position_buckets", src, -1) > 0) Refuse("position_buckets (DeBERTa-v2's log buckets, with model_type deberta)");
        if (Int(c, "embedding_size", src, config.ModelDim) != config.ModelDim) Refuse("embedding_size other than hidden_size");
        if (Int(c, "pooler_hidden_size", src, config.ModelDim) != config.ModelDim) Refuse("pooler_hidden_size other than hidden_size");
        if (Str(c, "pooler_hidden_act", src, "gelu") != "gelu") Refuse($"pooler_hidden_act '{Str(c, "pooler_hidden_act", src, "gelu")}' (only gelu)");
        int positions = Int(c, "max_position_embeddings", src, 512), maxRelative = Int(c, "max_relative_positions", src, -1);
        if (maxRelative < 1) maxRelative = positions;
        bool biasedInput = Get(c, "position_biased_input") is not { ValueKind: JsonValueKind.False };
        return config with
        {
            TypeVocabSize = Int(c, "type_vocab_size", src, 0), LayerNormEps = Float(c, "layer_norm_eps", src, 1e-7f),
            PositionalEncoding = biasedInput ? PositionalEncodingKind.Learned : PositionalEncodingKind.None,
            DisentangledSpan = maxRelative, DisentangledOwnProjections = true, DisentangledNorm = false, AttentionKeyBias = false,
            Pooling = Pooling.Cls, PoolerActivation = PoolerActivation.Gelu,
        };
    }

    // pos_att_type as a list or DeBERTa's "c2p|p2c" text, lower-cased.
    private static HashSet<string> PositionAttentionKinds(JsonElement c) => Get(c, "pos_att_type") is { } t
        ? t.ValueKind == JsonValueKind.Array ? t.EnumerateArray().Select(k => k.ToString().Trim().ToLowerInvariant()).ToHashSet()
        : t.ToString().Split('|').Select(k => k.Trim().ToLowerInvariant()).ToHashSet() : [];

    private static JsonObject WriteDebertaV1Config(TransformerConfig c)
    {
        var json = WriteBertConfig(c, "bert");
        json["model_type"] = "deberta";
        json["architectures"] = new JsonArray("DebertaModel");
        json["relative_attention"] = true;
        json["pos_att_type"] = new JsonArray("c2p", "p2c");
        json["position_biased_input"] = c.PositionalEncoding == PositionalEncodingKind.Learned;
        json["max_relative_positions"] = c.DisentangledSpan;
        json["pooler_hidden_size"] = c.ModelDim;
        json["pooler_hidden_act"] = "gelu";
        return json;
    }

    // DeBERTa v1's names: DeBERTa-v2's, but one in_proj (rows repacked by HeadsInterleavedQkv), q_bias and v_bias around a
    // key bias it does not have (""), pos_q_proj and pos_proj, and no LayerNorm of the relative positions.
    private static string[]? DebertaV1Names(string p)
    {
        if (p.StartsWith("layers.", StringComparison.Ordinal) && p.IndexOf('.', 7) is int dot and > 0)
        {
            string at = $"encoder.layer.{p[7..dot]}.attention.self.";
            switch (p[(dot + 1)..])
            {
                case "self_attn.in_proj_weight": return [at + "in_proj.weight"];
                case "self_attn.in_proj_bias": return [at + "q_bias", "", at + "v_bias"];
                case "self_attn.pos_query_proj.weight": return [at + "pos_q_proj.weight"];
                case "self_attn.pos_query_proj.bias": return [at + "pos_q_proj.bias"];
                case "self_attn.pos_key_proj.weight": return [at + "pos_proj.weight"];
            }
        }
        return p.StartsWith("rel_embeddings.norm.", StringComparison.Ordinal) ? null : DebertaV2Names(p);
    }

    private static JsonObject WriteDebertaV2Config(TransformerConfig c)
    {
        var json = WriteBertConfig(c, "bert");
        json["model_type"] = "deberta-v2";
        json["architectures"] = new JsonArray("DebertaV2Model");
        json["relative_attention"] = true;
        json["share_att_key"] = true;
        json["pos_att_type"] = new JsonArray("p2c", "c2p");
        json["norm_rel_ebd"] = "layer_norm";
        json["position_biased_input"] = c.PositionalEncoding == PositionalEncodingKind.Learned;
        json["position_buckets"] = c.DisentangledMaxDistance > 0 ? c.DisentangledSpan : -1;
        json["max_relative_positions"] = c.DisentangledMaxDistance > 0 ? c.DisentangledMaxDistance : c.DisentangledSpan;
        json["pooler_hidden_size"] = c.ModelDim;
        json["pooler_hidden_act"] = "gelu";
        if (c.ConvKernel > 0)
        {
            json["conv_kernel_size"] = c.ConvKernel;
            json["conv_act"] = c.ConvActivation == PoolerActivation.Gelu ? "gelu" : "tanh";
            json["conv_groups"] = 1;
        }
        return json;
    }

    private static string[]? DebertaV2Names(string p) => p switch
    {
        "conv.conv.weight" or "conv.conv.bias" or "conv.LayerNorm.weight" or "conv.LayerNorm.bias" => ["encoder." + p], // deberta-v2-xlarge's ConvLayer
        "rel_embeddings.weight" => ["encoder.rel_embeddings.weight"],
        "rel_embeddings.norm.weight" => ["encoder.LayerNorm.weight"],
        "rel_embeddings.norm.bias" => ["encoder.LayerNorm.bias"],
        "pooler.dense.weight" or "pooler.dense.bias" => null, // DeBERTa's pooler is its classifier's head (ContextPooler)
        "tok.weight" or "pos.weight" or "tok_type.weight" or "emb_norm.weight" or "emb_norm.bias" => BertNames(p, "embeddings.", ""),
        _ => LayerNames(p, "encoder.layer.", "attention.self.query_proj.", "attention.self.key_proj.", "attention.self.value_proj.", "attention.output.dense.",
            "attention.output.LayerNorm.", "intermediate.dense.", "output.dense.", "output.LayerNorm."),
    };

    private static string[]? MpnetNames(string p) => p switch
    {
        "tok.weight" => ["embeddings.word_embeddings.weight"],
        "pos.weight" => ["embeddings.position_embeddings.weight"],
        "emb_norm.weight" => ["embeddings.LayerNorm.weight"],
        "emb_norm.bias" => ["embeddings.LayerNorm.bias"],
        "rel_attn_bias.weight" => ["encoder.relative_attention_bias.weight"],
        "pooler.dense.weight" or "pooler.dense.bias" => [p],
        _ => LayerNames(p, "encoder.layer.", "attention.attn.q.", "attention.attn.k.", "attention.attn.v.", "attention.attn.o.",
            "attention.LayerNorm.", "intermediate.dense.", "output.dense.", "output.LayerNorm."),
    };

    private static JsonObject WriteDistilBertConfig(TransformerConfig c) => new()
    {
        ["model_type"] = "distilbert", ["architectures"] = new JsonArray("DistilBertModel"), ["vocab_size"] = c.VocabSize, ["dim"] = c.ModelDim,
        ["n_layers"] = c.Layers, ["n_heads"] = c.Heads, ["hidden_dim"] = c.FeedForwardDim, ["activation"] = ActivationName(c.Activation),
        ["max_position_embeddings"] = c.MaxLength, ["dropout"] = c.Dropout, ["attention_dropout"] = c.AttentionDropout,
    };

    private static string ActivationName(Activation a) => a switch
    {
        Activation.Gelu => "gelu",
        Activation.GeluTanh => "gelu_new",
        Activation.Relu => "relu",
        Activation.Silu => "silu",
        _ => throw new NotSupportedException($"Hugging Face's encoders have no activation {a}."),
    };

    private static TransformerConfig DistilBertConfig(JsonElement c, string src) => new()
    {
        VocabSize = Int(c, "vocab_size", src), ModelDim = Int(c, "dim", src), Layers = Int(c, "n_layers", src), Heads = Int(c, "n_heads", src),
        FeedForwardDim = Int(c, "hidden_dim", src), MaxLength = Int(c, "max_position_embeddings", src, 512), Dropout = Float(c, "dropout", src, 0.1f),
        AttentionDropout = Float(c, "attention_dropout", src, 0.1f),
        LayerNormEps = 1e-12f, Activation = ActivationOf(Str(c, "activation", src, "gelu"), src), Norm = NormPlacement.PostNorm,
        PositionalEncoding = PositionalEncodingKind.Learned, EmbeddingNorm = true, Pooling = Pooling.Cls,
    };

    /// <summary>Hugging Face's activation names: <c>gelu</c> is the erf form, <c>gelu_new</c> (and its aliases) the tanh form.</summary>
    internal static Activation ActivationOf(string name, string src) => name switch
    {
        "gelu" => Activation.Gelu,
        "gelu_new" or "gelu_pytorch_tanh" or "gelu_fast" => Activation.GeluTanh,
        "relu" => Activation.Relu,
        "silu" or "swish" => Activation.Silu,
        _ => throw new NotSupportedException($"{src}: activation '{name}' is not supported; supported: gelu, gelu_new, gelu_pytorch_tanh, gelu_fast, relu, silu, swish."),
    };

    // Engine names (nn.TransformerEncoderLayer's, stacked q;k;v) from a BERT checkpoint's.
    private static string[]? BertNames(string p, string emb, string layer) => p switch
    {
        "tok.weight" => [emb + "word_embeddings.weight"],
        "pos.weight" => [emb + "position_embeddings.weight"],
        "tok_type.weight" => [emb + "token_type_embeddings.weight"],
        "emb_norm.weight" => [emb + "LayerNorm.weight"],
        "emb_norm.bias" => [emb + "LayerNorm.bias"],
        "pooler.dense.weight" or "pooler.dense.bias" => [p],
        _ => LayerNames(p, layer, "attention.self.query.", "attention.self.key.", "attention.self.value.", "attention.output.dense.",
            "attention.output.LayerNorm.", "intermediate.dense.", "output.dense.", "output.LayerNorm."),
    };

    private static string[]? ElectraNames(string p) => p switch
    {
        "emb_proj.weight" => ["embeddings_project.weight"],
        "emb_proj.bias" => ["embeddings_project.bias"],
        "pooler.dense.weight" or "pooler.dense.bias" => null, // ELECTRA has no pooler; its classifier's dense layer is a head
        _ => BertNames(p, "embeddings.", "encoder.layer."),
    };

    private static string[]? DistilBertNames(string p) => p switch
    {
        "tok.weight" => ["embeddings.word_embeddings.weight"],
        "pos.weight" => ["embeddings.position_embeddings.weight"],
        "emb_norm.weight" => ["embeddings.LayerNorm.weight"],
        "emb_norm.bias" => ["embeddings.LayerNorm.bias"],
        _ => LayerNames(p, "transformer.layer.", "attention.q_lin.", "attention.k_lin.", "attention.v_lin.", "attention.out_lin.",
            "sa_layer_norm.", "ffn.lin1.", "ffn.lin2.", "output_layer_norm."),
    };

    private static string[]? LayerNames(string p, string layer, string q, string k, string v, string o, string norm1, string fc1, string fc2, string norm2) =>
        LayerNames(p, layer, [q, k, v], o, norm1, [fc1], fc2, norm2);

    // A block's parameter from the family's tensors of block i under layer: the attention's input projection from qkv (q, k
    // and v apart, or one packed projection such as Wqkv), the gated layer from fc1 (one tensor, or NomicBERT's two), the rest one each.
    private static string[]? LayerNames(string p, string layer, string[] qkv, string o, string norm1, string[] fc1, string fc2, string norm2)
    {
        if (!p.StartsWith("layers.", StringComparison.Ordinal)) return null;
        int dot = p.IndexOf('.', 7);
        string i = p[7..dot], rest = p[(dot + 1)..], at = $"{layer}{i}.";
        string[] All(string[] prefixes, string part) => prefixes.Select(x => at + x + part).ToArray();
        return rest switch
        {
            "self_attn.in_proj_weight" => All(qkv, "weight"),
            "self_attn.in_proj_bias" => All(qkv, "bias"),
            "self_attn.out_proj.weight" => [at + o + "weight"],
            "self_attn.out_proj.bias" => [at + o + "bias"],
            "norm1.weight" => [at + norm1 + "weight"],
            "norm1.bias" => [at + norm1 + "bias"],
            "linear1.weight" => All(fc1, "weight"),
            "linear1.bias" => All(fc1, "bias"),
            "linear2.weight" => [at + fc2 + "weight"],
            "linear2.bias" => [at + fc2 + "bias"],
            "norm2.weight" => [at + norm2 + "weight"],
            "norm2.bias" => [at + norm2 + "bias"],
            _ => null,
        };
    }

    private static JsonElement? Get(JsonElement c, string key) => c.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    private static int Int(JsonElement c, string key, string src, int? fallback = null)
    {
        var v = Get(c, key);
        if (v is null) return fallback ?? throw new InvalidDataException($"{src} has no '{key}'.");
        if (v.Value.ValueKind != JsonValueKind.Number || !v.Value.TryGetInt32(out int i)) throw new InvalidDataException($"{src}: '{key}' is {v.Value}, not an integer.");
        return i;
    }

    private static bool Bool(JsonElement c, string key, string src, bool fallback) => Get(c, key) is { } v ? v.ValueKind switch
    {
        JsonValueKind.True => true, JsonValueKind.False => false, _ => throw new InvalidDataException($"{src}: '{key}' is {v}, not true or false."),
    } : fallback;

    private static float Float(JsonElement c, string key, string src, float fallback)
    {
        var v = Get(c, key);
        if (v is null) return fallback;
        if (v.Value.ValueKind != JsonValueKind.Number) throw new InvalidDataException($"{src}: '{key}' is {v.Value}, not a number.");
        return (float)v.Value.GetDouble();
    }

    private static string Str(JsonElement c, string key, string src, string fallback)
    {
        var v = Get(c, key);
        if (v is null) return fallback;
        if (v.Value.ValueKind != JsonValueKind.String) throw new InvalidDataException($"{src}: '{key}' is {v.Value}, not a string.");
        return v.Value.GetString()!;
    }
}

/// <summary>A <c>*ForSequenceClassification</c> head: the dense layer on the first token and the output layer, by tensor prefix.</summary>
/// <param name="Architecture">The task model's class, as config.json's <c>architectures</c> names it.</param>
/// <param name="Dense">Prefix of the dense layer's <c>weight</c> and <c>bias</c> (the engine's pooler).</param>
/// <param name="Output">Prefix of the output layer's <c>weight</c> and <c>bias</c> (the engine's head).</param>
/// <param name="Activation">The dense layer's activation.</param>
public sealed record SequenceClassifierHead(string Architecture, string Dense, string Output, PoolerActivation Activation)
{
    /// <summary>Prefix of a LayerNorm after the dense layer's activation (ModernBERT's <c>head.norm.</c>); null = none.</summary>
    public string? Norm { get; init; }
    /// <summary>Whether the head reads the first token (BERT's and most families'); false: the pooling config.json names (ModernBERT's <c>classifier_pooling</c>).</summary>
    public bool PoolsFirstToken { get; init; } = true;
}
