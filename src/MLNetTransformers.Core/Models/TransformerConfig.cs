using System.Text.Json;
using System.Text.Json.Serialization;

namespace MLNetTransformers.Core.Models;

/// <summary>
/// Shape and options of a transformer encoder or decoder; every model is built from one of these. What only a
/// classifier has (classes, the n-gram branch, ensemble members) is in <see cref="ClassifierConfig"/>. The defaults
/// are the library's (a small pre-norm model, 2 layers of d_model 128, that trains on two cores); the trainers'
/// options read them from here.
/// </summary>
public record TransformerConfig
{
    /// <summary>Token ids are 0..VocabSize−1.</summary>
    public int VocabSize { get; init; } = 8000;
    /// <summary>d_model.</summary>
    public int ModelDim { get; init; } = 128;
    /// <summary>Attention heads; must divide <see cref="ModelDim"/>.</summary>
    public int Heads { get; init; } = 4;
    /// <summary>Number of blocks.</summary>
    public int Layers { get; init; } = 2;
    /// <summary>Hidden size of the feed-forward block.</summary>
    public int FeedForwardDim { get; init; } = 512;
    /// <summary>Longest sequence (positions 0..MaxLength−1).</summary>
    public int MaxLength { get; init; } = 128;
    /// <summary>Dropout probability on embeddings, attention outputs and feed-forward.</summary>
    public float Dropout { get; init; } = 0.1f;
    /// <summary>Pre-norm or post-norm blocks.</summary>
    public NormPlacement Norm { get; init; } = NormPlacement.PreNorm;
    /// <summary>Feed-forward non-linearity.</summary>
    public Activation Activation { get; init; } = Activation.Gelu;
    /// <summary>Learned or sinusoidal positions.</summary>
    public PositionalEncodingKind PositionalEncoding { get; init; } = PositionalEncodingKind.Learned;
    /// <summary>How an encoder pools its token states into one vector (sentence embeddings, a classifier's input).</summary>
    public Pooling Pooling { get; init; } = Pooling.Mean;
    /// <summary>Decoder blocks also attend to an encoder memory.</summary>
    public bool CrossAttention { get; init; }
    /// <summary>LayerNorm epsilon.</summary>
    public float LayerNormEps { get; init; } = 1e-5f;
    /// <summary>
    /// Dropout on the self-attention probabilities of encoder blocks in training (BERT's <c>attention_probs_dropout_prob</c>);
    /// 0 = none, the library's own models' default.
    /// </summary>
    public float AttentionDropout { get; init; }
    /// <summary>
    /// Dropout in training on the vector a sequence classifier's output layer reads (after the pooler), as Hugging Face's
    /// <c>*ForSequenceClassification</c> applies it: <c>classifier_dropout</c>, else <c>hidden_dropout_prob</c> (DistilBERT's
    /// <c>seq_classif_dropout</c>, ALBERT's <c>classifier_dropout_prob</c>, DeBERTa's <c>cls_dropout</c>). Read from a
    /// checkpoint's config; 0 = none, the library's own models' default. A classifier without a pooler (on mean-pooled
    /// sentence vectors, whose head no transformers class has) drops nothing there.
    /// </summary>
    public float ClassifierDropout { get; init; }
    /// <summary>
    /// Dropout in training on the pooled vector before a sequence classifier's dense layer, where the family's head drops
    /// it there (RoBERTa's, ELECTRA's, MPNet's and ESM's <c>classifier.dense</c>, at the classifier's rate; DeBERTa's
    /// <c>pooler_dropout</c>); 0 = none.
    /// </summary>
    public float PoolerDropout { get; init; }
    /// <summary>
    /// Dropout in training before a question answerer's output layer, where the family's <c>*ForQuestionAnswering</c>
    /// applies one: DistilBERT's <c>qa_dropout</c>, ModernBERT's <c>classifier_dropout</c>. Read from a checkpoint's config
    /// (<see cref="Pretrained.EncoderFamily.PositionHeadDropout"/>); 0 = none, the library's own readers' default.
    /// </summary>
    public float AnswerDropout { get; init; }
    /// <summary>Rows of the token-type (segment) embedding added to every token: BERT's 2 (sentence A and B); 0 = none.</summary>
    public int TypeVocabSize { get; init; }
    /// <summary>A LayerNorm right after the embedding sum (BERT's <c>embeddings.LayerNorm</c>).</summary>
    public bool EmbeddingNorm { get; init; }
    /// <summary>
    /// Width of the token embeddings when it differs from <see cref="ModelDim"/>. An encoder's position and token-type
    /// tables and their LayerNorm have it too, and a linear layer <c>emb_proj</c> maps them to ModelDim (ELECTRA's
    /// <c>embedding_size</c>, factorized embeddings); the GRU encoder-decoders feed it to their cells. 0 = ModelDim.
    /// Transformer decoders refuse it.
    /// </summary>
    public int EmbeddingDim { get; init; }
    /// <summary>The embedding tables' width: <see cref="EmbeddingDim"/>, or <see cref="ModelDim"/> when that is 0.</summary>
    [JsonIgnore] public int EmbeddingWidth => EmbeddingDim > 0 ? EmbeddingDim : ModelDim;
    /// <summary>Whether a projection <c>emb_proj</c> maps embeddings of <see cref="EmbeddingWidth"/> to <see cref="ModelDim"/>.</summary>
    [JsonIgnore] public bool ProjectsEmbeddings => EmbeddingWidth != ModelDim;
    /// <summary>
    /// Id of the first position: RoBERTa counts positions from padding_idx + 1 = 2, so its table has
    /// <see cref="MaxLength"/> + 2 rows. 0 for every other family.
    /// </summary>
    public int PositionOffset { get; init; }
    /// <summary>
    /// A pooler (tanh of a dense layer, <c>pooler.dense</c>) between the pooled vector and a classifier's head: BERT's
    /// pooler over [CLS], which next-sentence prediction trained.
    /// </summary>
    public bool Pooler { get; init; }
    /// <summary>The pooler's activation: tanh (BERT's pooler, RoBERTa's classification head) or ReLU (DistilBERT's <c>pre_classifier</c>).</summary>
    public PoolerActivation PoolerActivation { get; init; }
    /// <summary>
    /// A masked LM's head as BERT's (<c>cls.predictions</c>): dense + activation + LayerNorm (<see cref="Layers.PredictionTransform"/>),
    /// then a decoder tied to the token embedding with a bias of its own. False: one untied linear layer, the library's own pretraining.
    /// </summary>
    public bool MlmTransform { get; init; }
    /// <summary>
    /// A masked LM's next-sentence-prediction head (BERT's <c>cls.seq_relationship</c>): two logits (is next, is random)
    /// from the pooler over [CLS]; needs <see cref="Pooler"/>.
    /// </summary>
    public bool NextSentenceHead { get; init; }
    /// <summary>
    /// Buckets of a learned bias on self-attention scores by the key's offset from the query (MPNet's
    /// <c>relative_attention_num_buckets</c>, 32; <see cref="Layers.RelativePositionBias"/>), one table for all layers;
    /// 0 = none. Encoders only.
    /// </summary>
    public int RelativeAttentionBuckets { get; init; }
    /// <summary>
    /// Sets of block weights the <see cref="Layers"/> blocks share (ALBERT's <c>num_hidden_groups</c>, usually 1: every
    /// block runs the same weights): block i runs set <see cref="ParameterLayerOf"/>(i), <c>layers.{set}.*</c>, and
    /// its gradient adds into that set's. 0 = every block its own weights. Encoders only.
    /// </summary>
    public int LayerGroups { get; init; }
    /// <summary>Whether blocks share weights (<see cref="LayerGroups"/> fewer than <see cref="Layers"/>).</summary>
    [JsonIgnore] public bool SharesLayers => LayerGroups > 0 && LayerGroups < Layers;
    /// <summary>Sets of block weights the model holds: <see cref="LayerGroups"/>, or <see cref="Layers"/> when that is 0.</summary>
    [JsonIgnore] public int ParameterLayers => LayerGroups > 0 ? LayerGroups : Layers;
    /// <summary>The weight set block <paramref name="layer"/> runs (<c>layers.{set}.*</c>), as ALBERT assigns groups: int(i / (layers / groups)).</summary>
    /// <param name="layer">The block's index, 0..Layers−1.</param>
    public int ParameterLayerOf(int layer) => LayerGroups > 0 ? (int)(layer / ((double)Layers / LayerGroups)) : layer;
    /// <summary>
    /// DeBERTa's disentangled attention: half the rows of the shared table of relative-position embeddings (its
    /// <c>position_buckets</c>, 256 in DeBERTa-v3), whose projections by each layer's query and key weights add
    /// content-to-position and position-to-content terms to every score (<see cref="Layers.DisentangledPositions"/>); 0 = none. Encoders only.
    /// </summary>
    public int DisentangledSpan { get; init; }
    /// <summary>The distance DeBERTa's log buckets reach (<c>max_relative_positions</c>, 512 in DeBERTa-v3); 0 = no log buckets (distances clamped at the span).</summary>
    public int DisentangledMaxDistance { get; init; }
    /// <summary>
    /// DeBERTa (v1)'s disentangled attention: each layer projects the relative positions with weights of its own
    /// (<c>pos_key_proj</c> without a bias, <c>pos_query_proj</c> with one: DeBERTa's <c>pos_proj</c> and <c>pos_q_proj</c>;
    /// <see cref="Layers.DisentangledProjections"/>) rather than with its query and key weights. Needs <see cref="DisentangledSpan"/>.
    /// </summary>
    public bool DisentangledOwnProjections { get; init; }
    /// <summary>Whether the relative-position table is LayerNorm-ed before the layers project it (DeBERTa-v2's <c>norm_rel_ebd</c> layer_norm; DeBERTa v1's is not).</summary>
    public bool DisentangledNorm { get; init; } = true;
    /// <summary>
    /// Whether the self-attention's keys have a bias when the blocks have biases (<see cref="Biases"/>): DeBERTa v1's input
    /// projection has a query and a value bias only, so its key bias stays 0 and is not trained. Encoders only.
    /// </summary>
    public bool AttentionKeyBias { get; init; } = true;
    /// <summary>Sentence embeddings are scaled to unit length (sentence-transformers' Normalize module).</summary>
    public bool NormalizeEmbeddings { get; init; }
    /// <summary>
    /// sentence-transformers' Dense module after the pooling (distiluse-base-multilingual-cased, LaBSE): sentence vectors
    /// [B, d] → act(x·Wᵀ + b) [B, SentenceDense] (<c>sentence_dense.dense.*</c>), before any normalization; 0 = none.
    /// Part of the sentence embeddings only: a classifier's head reads the pooled vector. Encoders only.
    /// </summary>
    public int SentenceDense { get; init; }
    /// <summary>The Dense module's activation: tanh (sentence-transformers' default) or <see cref="PoolerActivation.Identity"/>.</summary>
    public PoolerActivation SentenceDenseActivation { get; init; }
    /// <summary>Whether the Dense module has a bias.</summary>
    public bool SentenceDenseBias { get; init; } = true;
    /// <summary>Width of the sentence embeddings: <see cref="SentenceDense"/>, or <see cref="ModelDim"/> without a Dense module.</summary>
    [JsonIgnore] public int SentenceDim => SentenceDense > 0 ? SentenceDense : ModelDim;
    /// <summary>
    /// Whether the blocks' linear layers (and a masked LM's transform) have biases; ModernBERT's and NomicBERT's have
    /// none. Encoders only.
    /// </summary>
    public bool Biases { get; init; } = true;
    /// <summary>Whether the pooler's dense layer has a bias (ModernBERT's head: its <c>classifier_bias</c>).</summary>
    public bool PoolerBias { get; init; } = true;
    /// <summary>
    /// The embedding's rows were rounded up to a multiple of this (NomicBERT's <c>pad_vocab_size_multiple</c>, 64): a
    /// tokenizer with fewer ids fits when rounding its size up gives the rows. 1 = no rounding.
    /// </summary>
    public int VocabularyMultiple { get; init; } = 1;
    /// <summary>Whether the encoder's LayerNorms have a shift β (embeddings', blocks', final, the pooler's); ModernBERT's have none. Encoders only.</summary>
    public bool NormBiases { get; init; } = true;
    /// <summary>
    /// Gated feed-forward blocks (a GLU: ModernBERT's GeGLU): the first layer is 2 × <see cref="FeedForwardDim"/> wide
    /// and its second half multiplies the activated first half. Encoders only.
    /// </summary>
    public bool GatedFeedForward { get; init; }
    /// <summary>
    /// Rotary position embedding of queries and keys (<see cref="Layers.RotaryPositions"/>) with this base (ModernBERT's
    /// global layers: 160,000); 0 = none. Usually with <see cref="PositionalEncodingKind.None"/>. Encoders only.
    /// </summary>
    public float RotaryTheta { get; init; }
    /// <summary>The rotary base of the blocks that attend in a sliding window (ModernBERT's local layers: 10,000); 0 = <see cref="RotaryTheta"/>.</summary>
    public float LocalRotaryTheta { get; init; }
    /// <summary>
    /// RoFormer's rotary layout (<see cref="Layers.RotaryPositions"/>): components 2i and 2i + 1 of a head rotate together,
    /// by angles formed in double precision as its sinusoidal table is; false = the rotate-half layout (ModernBERT's).
    /// </summary>
    public bool RotaryInterleaved { get; init; }
    /// <summary>
    /// DeBERTa-v2's convolution after the first block (<see cref="Layers.ConvLayer"/>: deberta-v2-xlarge's
    /// <c>conv_kernel_size</c>, odd), over the embeddings, added to that block's output; 0 = none. Encoders only.
    /// </summary>
    public int ConvKernel { get; init; }
    /// <summary>The convolution's activation (<c>conv_act</c>): tanh, DeBERTa's default, or GELU.</summary>
    public PoolerActivation ConvActivation { get; init; } = PoolerActivation.Tanh;
    /// <summary>
    /// Blocks that attend locally see, for query i, only keys j with |i − j| ≤ this (ModernBERT's <c>local_attention</c> / 2,
    /// 64); 0 = every block attends to every key. Encoders only.
    /// </summary>
    public int SlidingWindow { get; init; }
    /// <summary>With a <see cref="SlidingWindow"/>, block i attends to every key when i is a multiple of this (ModernBERT's <c>global_attn_every_n_layers</c>, 3), locally otherwise.</summary>
    public int GlobalAttentionEvery { get; init; } = 1;
    /// <summary>Whether the first pre-norm block normalizes its attention's input (ModernBERT's does not: the embeddings' norm has just done it).</summary>
    public bool FirstBlockAttentionNorm { get; init; } = true;
    /// <summary>A LayerNorm after the pooler's activation (ModernBERT's prediction head: dense, activation, norm).</summary>
    public bool PoolerNorm { get; init; }
    /// <summary>
    /// ALiBi (<see cref="Layers.AttentionLinearBiases"/>: JinaBERT's and MosaicBERT's positions): every self-attention score
    /// gains −m_h·|i − j|, fixed slopes per head; usually with <see cref="PositionalEncodingKind.None"/>. Encoders only.
    /// </summary>
    public bool Alibi { get; init; }
    /// <summary>
    /// Whether the feed-forward blocks' first layer (<c>linear1</c>) has a bias when the blocks have biases
    /// (<see cref="Biases"/>); JinaBERT's gated layer has none while its output layer has one. Encoders only.
    /// </summary>
    public bool ExpansionBias { get; init; } = true;
    /// <summary>
    /// Gated feed-forward blocks: whether the activated half comes first in <c>linear1</c>'s output (ModernBERT's input,
    /// JinaBERT's gated half) or second (GTE's <c>up_gate_proj</c>: up, then the gate). Encoders only.
    /// </summary>
    public bool ActivatedHalfFirst { get; init; } = true;
    /// <summary>
    /// NTK scaling of the rotary positions (GTE's <c>rope_scaling</c> {type ntk, factor s}): the frequencies of base·s,
    /// each divided by s^(2/hd); 1 = none. Encoders only.
    /// </summary>
    public float RotaryScaling { get; init; } = 1f;
    /// <summary>
    /// ESM's token dropout (its <c>token_dropout</c>, with <c>mask_token_id</c>): the embeddings of this mask token are
    /// zeroed and every sequence's token embeddings scaled by (1 − 0.15·0.8) / (1 − its share of mask tokens), in training
    /// and inference alike, before any position table; −1 = none. Encoders only.
    /// </summary>
    public int MaskTokenDropout { get; init; } = -1;
    /// <summary>The share of mask tokens ESM was trained with (15% of tokens chosen, 80% of those masked): its token dropout's scale.</summary>
    public const double MaskTokenDropoutTrainRatio = 0.15 * 0.8;

    /// <summary>Whether block <paramref name="layer"/> attends within the <see cref="SlidingWindow"/>.</summary>
    /// <param name="layer">The block's index.</param>
    public bool IsLocalLayer(int layer) => SlidingWindow > 0 && layer % GlobalAttentionEvery != 0;
    /// <summary>Block <paramref name="layer"/>'s sliding window (0 = none).</summary>
    /// <param name="layer">The block's index.</param>
    public int WindowOf(int layer) => IsLocalLayer(layer) ? SlidingWindow : 0;
    /// <summary>Block <paramref name="layer"/>'s rotary base (0 = no rotary positions).</summary>
    /// <param name="layer">The block's index.</param>
    public float RotaryThetaOf(int layer) => RotaryTheta > 0f && IsLocalLayer(layer) && LocalRotaryTheta > 0f ? LocalRotaryTheta : RotaryTheta;

    /// <summary>Longest <see cref="MaxLength"/> accepted (the tokenizer's limit too): a file claiming more is refused before anything is allocated.</summary>
    public const int MaxLengthLimit = 1 << 16;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public virtual TransformerConfig Validate()
    {
        Positive(VocabSize, nameof(VocabSize));
        Positive(ModelDim, nameof(ModelDim));
        Positive(Heads, nameof(Heads));
        Positive(Layers, nameof(Layers));
        Positive(FeedForwardDim, nameof(FeedForwardDim));
        Positive(MaxLength, nameof(MaxLength));
        if (MaxLength > MaxLengthLimit) throw new ArgumentException($"{nameof(MaxLength)} must be at most {MaxLengthLimit:N0}, got {MaxLength}.");
        if (ModelDim % Heads != 0) throw new ArgumentException($"{nameof(ModelDim)} {ModelDim} is not divisible by {nameof(Heads)} {Heads}.");
        if (!(Dropout >= 0f && Dropout < 1f)) throw new ArgumentException($"{nameof(Dropout)} must be in [0, 1), got {Dropout}.");
        if (!(AttentionDropout >= 0f && AttentionDropout < 1f)) throw new ArgumentException($"{nameof(AttentionDropout)} must be in [0, 1), got {AttentionDropout}.");
        if (!(ClassifierDropout >= 0f && ClassifierDropout < 1f)) throw new ArgumentException($"{nameof(ClassifierDropout)} must be in [0, 1), got {ClassifierDropout}.");
        if (!(PoolerDropout >= 0f && PoolerDropout < 1f)) throw new ArgumentException($"{nameof(PoolerDropout)} must be in [0, 1), got {PoolerDropout}.");
        if (!(AnswerDropout >= 0f && AnswerDropout < 1f)) throw new ArgumentException($"{nameof(AnswerDropout)} must be in [0, 1), got {AnswerDropout}.");
        if (EmbeddingDim < 0) throw new ArgumentException($"{nameof(EmbeddingDim)} must be non-negative (0 = ModelDim), got {EmbeddingDim}.");
        if (RelativeAttentionBuckets != 0 && (RelativeAttentionBuckets < 4 || RelativeAttentionBuckets % 2 != 0 || RelativeAttentionBuckets > 1024))
            throw new ArgumentException($"{nameof(RelativeAttentionBuckets)} must be 0 (none) or even in [4, 1024], got {RelativeAttentionBuckets}.");
        if (DisentangledSpan != 0 && (DisentangledSpan < 2 || DisentangledSpan > MaxLengthLimit))
            throw new ArgumentException($"{nameof(DisentangledSpan)} must be 0 (none) or in [2, {MaxLengthLimit}], got {DisentangledSpan}.");
        if (DisentangledMaxDistance != 0 && (DisentangledSpan == 0 || DisentangledMaxDistance <= DisentangledSpan / 2 + 1 || DisentangledMaxDistance > MaxLengthLimit))
            throw new ArgumentException($"{nameof(DisentangledMaxDistance)} must be 0 or, with a span, above half the span + 1 and at most {MaxLengthLimit}, got {DisentangledMaxDistance}.");
        if ((DisentangledOwnProjections || !DisentangledNorm) && DisentangledSpan == 0)
            throw new ArgumentException($"{(DisentangledOwnProjections ? nameof(DisentangledOwnProjections) : nameof(DisentangledNorm) + " false")} shapes disentangled attention; set {nameof(DisentangledSpan)} too.");
        if (!AttentionKeyBias && !Biases) throw new ArgumentException($"{nameof(AttentionKeyBias)} false leaves out the key bias of projections that have biases; {nameof(Biases)} is false.");
        if (DisentangledSpan > 0 && RelativeAttentionBuckets > 0) throw new ArgumentException($"{nameof(DisentangledSpan)} and {nameof(RelativeAttentionBuckets)} are two kinds of relative attention; choose one.");
        if (LayerGroups < 0 || LayerGroups > Layers) throw new ArgumentException($"{nameof(LayerGroups)} must be in [0, {nameof(Layers)} = {Layers}] (0 = no sharing), got {LayerGroups}.");
        if (RotaryTheta != 0f && !(RotaryTheta > 1f && float.IsFinite(RotaryTheta))) throw new ArgumentException($"{nameof(RotaryTheta)} must be 0 (none) or a finite number above 1, got {RotaryTheta}.");
        if (LocalRotaryTheta != 0f && !(LocalRotaryTheta > 1f && float.IsFinite(LocalRotaryTheta) && RotaryTheta > 0f))
            throw new ArgumentException($"{nameof(LocalRotaryTheta)} must be 0 or, with a {nameof(RotaryTheta)}, a finite number above 1, got {LocalRotaryTheta}.");
        if (RotaryTheta > 0f && (ModelDim / Heads) % 2 != 0) throw new ArgumentException($"Rotary positions need an even head size; {ModelDim} / {Heads} heads is {ModelDim / Heads}.");
        if (SlidingWindow < 0 || SlidingWindow > MaxLengthLimit) throw new ArgumentException($"{nameof(SlidingWindow)} must be in [0, {MaxLengthLimit}] (0 = none), got {SlidingWindow}.");
        if (!(RotaryScaling >= 1f && float.IsFinite(RotaryScaling))) throw new ArgumentException($"{nameof(RotaryScaling)} must be a finite factor of at least 1 (1 = none), got {RotaryScaling}.");
        if (RotaryScaling != 1f && RotaryTheta == 0f) throw new ArgumentException($"{nameof(RotaryScaling)} scales rotary positions; set {nameof(RotaryTheta)} too.");
        if (ConvKernel < 0 || (ConvKernel > 0 && ConvKernel % 2 == 0)) throw new ArgumentException($"{nameof(ConvKernel)} must be 0 (none) or odd, got {ConvKernel}.");
        if (ConvKernel > 0 && ConvActivation is not (PoolerActivation.Tanh or PoolerActivation.Gelu)) throw new ArgumentException($"{nameof(ConvActivation)} must be tanh or GELU, got {ConvActivation}.");
        if (RotaryInterleaved && (RotaryTheta == 0f || RotaryScaling != 1f || LocalRotaryTheta != 0f))
            throw new ArgumentException($"{nameof(RotaryInterleaved)} is RoFormer's layout of rotary positions: set {nameof(RotaryTheta)}, without {nameof(RotaryScaling)} or {nameof(LocalRotaryTheta)}.");
        if (MaskTokenDropout < -1 || MaskTokenDropout >= VocabSize) throw new ArgumentException($"{nameof(MaskTokenDropout)} must be −1 (none) or a token id below {nameof(VocabSize)} = {VocabSize}, got {MaskTokenDropout}.");
        if (VocabularyMultiple < 1) throw new ArgumentException($"{nameof(VocabularyMultiple)} must be at least 1, got {VocabularyMultiple}.");
        if (GlobalAttentionEvery < 1) throw new ArgumentException($"{nameof(GlobalAttentionEvery)} must be at least 1, got {GlobalAttentionEvery}.");
        if (Alibi && (RotaryTheta > 0f || DisentangledSpan > 0 || RelativeAttentionBuckets > 0))
            throw new ArgumentException($"{nameof(Alibi)} does not combine with {(RotaryTheta > 0f ? nameof(RotaryTheta) : DisentangledSpan > 0 ? nameof(DisentangledSpan) : nameof(RelativeAttentionBuckets))}: each is a way to give attention positions.");
        if ((RotaryTheta > 0f || SlidingWindow > 0) && (DisentangledSpan > 0 || RelativeAttentionBuckets > 0))
            throw new ArgumentException($"Rotary positions and sliding windows do not combine with {(DisentangledSpan > 0 ? nameof(DisentangledSpan) : nameof(RelativeAttentionBuckets))}.");
        if (!FirstBlockAttentionNorm && Norm != NormPlacement.PreNorm) throw new ArgumentException($"{nameof(FirstBlockAttentionNorm)} false needs pre-norm blocks.");
        if (!FirstBlockAttentionNorm && SharesLayers) throw new ArgumentException($"{nameof(FirstBlockAttentionNorm)} false and {nameof(LayerGroups)} do not combine: the first block's weights would differ from the blocks sharing them.");
        if (TypeVocabSize < 0) throw new ArgumentException($"{nameof(TypeVocabSize)} must be non-negative, got {TypeVocabSize}.");
        if (PositionOffset < 0 || PositionOffset > MaxLengthLimit) throw new ArgumentException($"{nameof(PositionOffset)} must be in [0, {MaxLengthLimit}], got {PositionOffset}.");
        if (!(LayerNormEps > 0f)) throw new ArgumentException($"{nameof(LayerNormEps)} must be positive, got {LayerNormEps}.");
        if (!Enum.IsDefined(Norm)) throw new ArgumentException($"Unknown {nameof(Norm)} {Norm}.");
        if (!Enum.IsDefined(Activation)) throw new ArgumentException($"Unknown {nameof(Activation)} {Activation}.");
        if (!Enum.IsDefined(PositionalEncoding)) throw new ArgumentException($"Unknown {nameof(PositionalEncoding)} {PositionalEncoding}.");
        if (!Enum.IsDefined(Pooling)) throw new ArgumentException($"Unknown {nameof(Pooling)} {Pooling}.");
        if (!Enum.IsDefined(PoolerActivation)) throw new ArgumentException($"Unknown {nameof(PoolerActivation)} {PoolerActivation}.");
        if (SentenceDense < 0 || SentenceDense > 1 << 16) throw new ArgumentException($"{nameof(SentenceDense)} must be in [0, 65536] (0 = none), got {SentenceDense}.");
        if (SentenceDenseActivation is not (PoolerActivation.Tanh or PoolerActivation.Identity))
            throw new ArgumentException($"{nameof(SentenceDenseActivation)} must be Tanh or Identity (sentence-transformers' Dense modules), got {SentenceDenseActivation}.");
        return this;
    }

    /// <summary>
    /// A lower bound on the number of weights a model of this config holds (embeddings, attention and feed-forward
    /// weights, the n-gram tables), computed without building it: a reader compares it with the weights a file really
    /// contains before allocating anything.
    /// </summary>
    /// <param name="kind">The kind of model built from this config.</param>
    public virtual long MinimumParameterCount(ModelKind kind)
    {
        long d = ModelDim, e = EmbeddingWidth;
        long positions = PositionalEncoding == PositionalEncodingKind.Learned ? ((long)MaxLength + PositionOffset) * e : 0;
        return (long)VocabSize * e + positions + (long)TypeVocabSize * e + (ProjectsEmbeddings ? e * d : 0) + (Pooler ? d * d : 0)
            + (long)RelativeAttentionBuckets * Heads + 2L * DisentangledSpan * d + ParameterLayers * (4 * d * d + (GatedFeedForward ? 3 : 2) * d * FeedForwardDim);
    }

    /// <summary>The shape alone: a plain <see cref="TransformerConfig"/> with this one's values (a classifier's encoder, say).</summary>
    public TransformerConfig Shape() => new(this);

    /// <summary>Throws unless <paramref name="value"/> is positive.</summary>
    private protected static void Positive(int value, string name)
    {
        if (value <= 0) throw new ArgumentException($"{name} must be positive, got {value}.");
    }

    private protected static readonly JsonSerializerOptions Json = new() { Converters = { new JsonStringEnumConverter() } };

    /// <summary>The config as JSON (enums by name, every field of its actual type), as stored in checkpoints and model metadata.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, GetType(), Json);

    /// <summary>Parses <see cref="ToJson"/> output and validates it (fields of other config types, e.g. a classifier's, are ignored).</summary>
    /// <param name="json">The JSON written by ToJson.</param>
    public static TransformerConfig FromJson(string json) =>
        (JsonSerializer.Deserialize<TransformerConfig>(json, Json) ?? throw new ArgumentException("Config JSON is null.")).Validate();

    /// <summary>The config a checkpoint of <paramref name="kind"/> stores: a <see cref="ClassifierConfig"/> for classifiers, token classifiers and question answerers, a <see cref="Seq2SeqConfig"/> for encoder-decoders.</summary>
    /// <param name="json">The JSON written by ToJson.</param>
    /// <param name="kind">The kind of model it describes.</param>
    public static TransformerConfig FromJson(string json, ModelKind kind) => kind switch
    {
        ModelKind.Classifier or ModelKind.TokenClassifier or ModelKind.QuestionAnswerer => ClassifierConfig.FromJson(json),
        ModelKind.Seq2Seq or ModelKind.RnnSeq2Seq => Seq2SeqConfig.FromJson(json),
        _ => FromJson(json),
    };
}
