namespace MLNetTransformers.Core.Models;

/// <summary>
/// A decoder's linear weights (each block's attention input and output projections and feed-forward layers) and its
/// output head, packed as <see cref="PanelMatrix"/> for the few-row products of generation. The panels are attached to
/// the layers for one generation call and detached after it, so a model trained between calls never computes with
/// stale ones; packing is one pass over the weights, repeated at each attach unless the caller knows the weights are fixed.
/// </summary>
internal sealed class DecodingPanels
{
    private readonly List<(Linear? Linear, MultiHeadAttention? Attention, PanelMatrix Panels)> _layers = new();
    private bool _packed;

    /// <summary>Room for the panels of <paramref name="decoder"/>'s self-attention and feed-forward layers and of <paramref name="head"/>.</summary>
    public DecodingPanels(TransformerDecoder decoder, Linear head)
    {
        foreach (var block in decoder.Blocks)
        {
            var attention = block.SelfAttention;
            _layers.Add((null, attention, new PanelMatrix(3 * attention.AttnDim, attention.InDim)));
            if (attention.OutProj is { } o) Add(o);
            if (block.CrossAttention?.OutProj is { } co) Add(co); // its query projection stays a slice of a GEMM
            Add(block.FeedForward.Linear1);
            Add(block.FeedForward.Linear2);
        }
        Add(head);
    }

    /// <summary>Copies the layers' current weights into the panels.</summary>
    public void Pack()
    {
        foreach (var (linear, attention, panels) in _layers) panels.Pack(linear is not null ? linear.Weight.Value : attention!.InProjWeight.Value);
        _packed = true;
    }

    /// <summary>Sets the panels on their layers until the returned scope is disposed.</summary>
    /// <param name="repack">Whether to <see cref="Pack"/> first (false only when the weights cannot have changed since the last pack).</param>
    public Scope Attach(bool repack)
    {
        if (repack || !_packed) Pack();
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

    private void Add(Linear layer) => _layers.Add((layer, null, new PanelMatrix(layer.Out, layer.In)));

    /// <summary>Detaches the panels when disposed.</summary>
    public readonly struct Scope(DecodingPanels owner) : IDisposable
    {
        /// <inheritdoc/>
        public void Dispose() => owner.Detach();
    }
}
