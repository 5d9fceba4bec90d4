namespace MLNetTransformers.Persistence;

/// <summary>
/// A transformer of this library (or of MLNetTransformers.Onnx) that writes itself into a <see cref="TransformerModel"/>
/// file: its entries through the writer, and a typed record that becomes its segment of the manifest.
/// </summary>
internal interface IModelPart
{
    /// <summary>Writes the part's entries and returns its manifest record.</summary>
    object SavePart(ModelPartWriter writer);
}
