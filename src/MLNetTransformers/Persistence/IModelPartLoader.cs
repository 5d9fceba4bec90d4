namespace MLNetTransformers.Persistence;

/// <summary>
/// How a part is read back: the <see cref="Kind"/> its manifest segments carry, and a loader. <see cref="TransformerModel"/>
/// finds loaders by kind in the library's assemblies, so a new transformer adds itself without touching a central switch.
/// </summary>
/// <typeparam name="TSelf">The transformer type.</typeparam>
internal interface IModelPartLoader<TSelf> where TSelf : IModelPartLoader<TSelf>
{
    /// <summary>The segment kind (e.g. "classifier"), unique among parts.</summary>
    static abstract string Kind { get; }
    /// <summary>Rebuilds the transformer from its segment.</summary>
    static abstract ITransformer LoadPart(ModelPartReader reader);
}
