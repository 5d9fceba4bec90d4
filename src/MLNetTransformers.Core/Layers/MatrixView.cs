namespace MLNetTransformers.Core.Layers;

/// <summary>A matrix inside a flat buffer: rows start at <see cref="Offset"/> + r·<see cref="Stride"/>.</summary>
internal readonly record struct MatrixView(float[] Data, int Offset, int Stride);
