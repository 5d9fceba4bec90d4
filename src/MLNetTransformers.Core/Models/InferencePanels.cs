namespace MLNetTransformers.Core.Models;

/// <summary>
/// A model's linear weights packed as <see cref="PanelMatrix"/> for inference: a decoder's (each block's attention
/// projections and feed-forward layers) and its output head for generation, or an encoder's blocks for predictions
/// (twice as fast for a sentence or two, about a tenth faster for large batches). For generation the
/// panels are attached to the layers for one call and detached after it, so a model trained between calls never
/// computes with stale ones; a serving replica, whose weights never change, keeps them attached.
/// </summary>
internal sealed class InferencePanels
{
    private readonly List<(Linear? Linear, MultiHeadAttention? Attention, PanelMatrix Panels)> _layers = new();
    // One panel set per weight tensor: blocks that share weights (ALBERT's) share their panels.
    private readonly Dictionary<ParameterTensor, PanelMatrix> _byWeight = new();
    private bool _packed;

    /// <summary>Room for the panels of <paramref name="decoder"/>'s attention and feed-forward layers and of <paramref name="head"/>.</summary>
    public InferencePanels(TransformerDecoder decoder, Linear head)
    {
        foreach (var block in decoder.Blocks)
        {
            AddSelfAttention(block.SelfAttention);
            if (block.CrossAttention?.OutProj is { } co) Add(co); // its query projection stays a slice of a GEMM
            Add(block.FeedForward.Linear1);
            Add(block.FeedForward.Linear2);
        }
        Add(head);
    }

    /// <summary>Room for the panels of <paramref name="encoder"/>'s attention and feed-forward layers.</summary>
    public InferencePanels(TransformerEncoder encoder)
    {
        foreach (var block in encoder.Blocks)
        {
            AddSelfAttention(block.SelfAttention);
            Add(block.FeedForward.Linear1);
            Add(block.FeedForward.Linear2);
        }
    }

    private void AddSelfAttention(MultiHeadAttention attention)
    {
        _layers.Add((null, attention, PanelsOf(attention.InProjWeight, 3 * attention.AttnDim, attention.InDim)));
        if (attention.OutProj is { } o) Add(o);
    }

    /// <summary>
    /// Packs <paramref name="encoder"/>'s weights and leaves the panels attached for good: for a serving replica, whose
    /// weights never change (the replica then holds its linear weights twice).
    /// </summary>
    /// <param name="encoder">An encoder no one will train or change again.</param>
    public static void AttachForGood(TransformerEncoder encoder) => new InferencePanels(encoder).Attach(repack: true);

    /// <summary>Copies the layers' current weights into the panels when <paramref name="repack"/> or when they were never packed.</summary>
    /// <param name="repack">False only when the weights cannot have changed since the last pack.</param>
    public void Pack(bool repack)
    {
        if (!repack && _packed) return;
        foreach (var (weight, panels) in _byWeight) panels.Pack(weight.Value);
        _packed = true;
    }

    /// <summary>Sets the panels on their layers until the returned scope is disposed.</summary>
    /// <param name="repack">Whether to pack the current weights first (see <see cref="Pack"/>).</param>
    public Scope Attach(bool repack)
    {
        Pack(repack);
        foreach (var (linear, attention, panels) in _layers)
        {
            if (linear is not null) linear.Panels = panels;
            else attention!.InProjPanels = panels;
        }
        return new Scope(this);
    }

    private void Detach()
    {
        foreach (var (linear, attention, _) in _layers)
        {
            if (linear is not null) linear.Panels = null;
            else attention!.InProjPanels = null;
        }
    }

    private void Add(Linear layer) => _layers.Add((layer, null, PanelsOf(layer.Weight, layer.Out, layer.In)));

    private PanelMatrix PanelsOf(ParameterTensor weight, int rows, int cols) =>
        _byWeight.TryGetValue(weight, out var panels) ? panels : _byWeight[weight] = new PanelMatrix(rows, cols);

    /// <summary>Detaches the panels when disposed.</summary>
    public readonly struct Scope(InferencePanels owner) : IDisposable
    {
        /// <inheritdoc/>
        public void Dispose() => owner.Detach();
    }
}
