namespace MLNetTransformers.Onnx;

/// <summary>A model read back from an ONNX file exported by this library.</summary>
/// <param name="Model">The managed model, ready for inference or further training.</param>
/// <param name="Kind">What the graph computed.</param>
/// <param name="Tokenizer">The tokenizer stored in the metadata, if any.</param>
/// <param name="ClassNames">Class names stored in the metadata, if any.</param>
public sealed record ImportedModel(ITransformerModel Model, OnnxExportKind Kind, TextTokenizer? Tokenizer, IReadOnlyList<string>? ClassNames);
