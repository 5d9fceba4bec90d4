using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace MLNetTransformers.Cli;

/// <summary>Runs any ONNX model whose inputs are int64 or float tensors, from and to JSON nested arrays.</summary>
internal static class OnnxRun
{
    public static JsonObject Run(InferenceSession session, JsonObject inputs, string source)
    {
        var feeds = new List<NamedOnnxValue>();
        foreach (var (name, meta) in session.InputMetadata)
        {
            var node = inputs[name] ?? throw new InvalidDataException($"{source} has no value for model input '{name}' (inputs: {string.Join(", ", session.InputMetadata.Keys)}).");
            var shape = new List<int>();
            var values = new List<JsonNode>();
            Flatten(node, 0, shape, values, name);
            if (shape.Count != meta.Dimensions.Length)
                throw new InvalidDataException($"Input '{name}' has rank {shape.Count} in {source}; the model expects rank {meta.Dimensions.Length}.");
            for (int i = 0; i < shape.Count; i++)
                if (meta.Dimensions[i] > 0 && meta.Dimensions[i] != shape[i])
                    throw new InvalidDataException($"Input '{name}' has size {shape[i]} on axis {i} in {source}; the model expects {meta.Dimensions[i]}.");
            var dims = shape.ToArray();
            if (meta.ElementType == typeof(long))
                feeds.Add(NamedOnnxValue.CreateFromTensor(name, new DenseTensor<long>(values.Select(v => Int64(v, name)).ToArray(), dims)));
            else if (meta.ElementType == typeof(float))
                feeds.Add(NamedOnnxValue.CreateFromTensor(name, new DenseTensor<float>(values.Select(v => Float(v, name)).ToArray(), dims)));
            else throw new NotSupportedException($"Model input '{name}' has element type {meta.ElementType.Name}; onnx-run feeds int64 and float tensors.");
        }
        foreach (var key in inputs.Select(kv => kv.Key))
            if (!session.InputMetadata.ContainsKey(key)) throw new InvalidDataException($"{source} names '{key}', which is not a model input (inputs: {string.Join(", ", session.InputMetadata.Keys)}).");
        CheckTokenInputs(session, feeds, source);
        using var results = session.Run(feeds);
        var output = new JsonObject();
        foreach (var r in results)
            output[r.Name] = r.Value switch
            {
                DenseTensor<float> t => Nest(t.Buffer.ToArray().Select(v => (JsonNode?)JsonValue.Create(v)).ToArray(), t.Dimensions.ToArray()),
                DenseTensor<long> t => Nest(t.Buffer.ToArray().Select(v => (JsonNode?)JsonValue.Create(v)).ToArray(), t.Dimensions.ToArray()),
                DenseTensor<int> t => Nest(t.Buffer.ToArray().Select(v => (JsonNode?)JsonValue.Create(v)).ToArray(), t.Dimensions.ToArray()),
                DenseTensor<double> t => Nest(t.Buffer.ToArray().Select(v => (JsonNode?)JsonValue.Create(v)).ToArray(), t.Dimensions.ToArray()),
                DenseTensor<bool> t => Nest(t.Buffer.ToArray().Select(v => (JsonNode?)JsonValue.Create(v)).ToArray(), t.Dimensions.ToArray()),
                _ => throw new NotSupportedException($"Model output '{r.Name}' is of a kind onnx-run cannot print ({r.ValueType})."),
            };
        return output;
    }

    // Transformer inputs: the mask holds 0/1 and has the ids' shape; ids lie in the vocabulary when the model says its size.
    private static void CheckTokenInputs(InferenceSession session, List<NamedOnnxValue> feeds, string source)
    {
        var ids = feeds.FirstOrDefault(f => f.Name == "input_ids")?.Value as DenseTensor<long>;
        var mask = feeds.FirstOrDefault(f => f.Name == "attention_mask")?.Value as DenseTensor<long>;
        if (mask is not null)
        {
            int bad = Array.FindIndex(mask.Buffer.ToArray(), v => v is not (0 or 1));
            if (bad >= 0) throw new InvalidDataException($"Input 'attention_mask' in {source} holds {mask.Buffer.Span[bad]} at position {bad}; a mask holds 0 or 1.");
        }
        if (ids is null) return;
        if (mask is not null && !ids.Dimensions.SequenceEqual(mask.Dimensions))
            throw new InvalidDataException($"In {source}, 'input_ids' is [{string.Join(", ", ids.Dimensions.ToArray())}] but 'attention_mask' is [{string.Join(", ", mask.Dimensions.ToArray())}]; they must have the same shape.");
        if (session.ModelMetadata.CustomMetadataMap.TryGetValue("mlnettransformers.config", out var config)
            && JsonNode.Parse(config)?["VocabSize"]?.GetValue<int>() is int vocab)
        {
            int bad = Array.FindIndex(ids.Buffer.ToArray(), v => v < 0 || v >= vocab);
            if (bad >= 0) throw new InvalidDataException($"Input 'input_ids' in {source} holds {ids.Buffer.Span[bad]} at position {bad}, outside the model's vocabulary [0, {vocab}).");
        }
    }

    private static void Flatten(JsonNode node, int depth, List<int> shape, List<JsonNode> values, string name)
    {
        if (node is JsonArray arr)
        {
            if (shape.Count == depth) shape.Add(arr.Count);
            else if (shape[depth] != arr.Count) throw new InvalidDataException($"Input '{name}' is ragged: axis {depth} has lengths {shape[depth]} and {arr.Count}.");
            foreach (var item in arr) Flatten(item ?? throw new InvalidDataException($"Input '{name}' contains null."), depth + 1, shape, values, name);
        }
        else
        {
            if (shape.Count != depth) throw new InvalidDataException($"Input '{name}' mixes numbers and arrays at axis {depth}.");
            values.Add(node);
        }
    }

    private static long Int64(JsonNode v, string name)
    {
        try { return v.GetValue<long>(); }
        catch (Exception e) when (e is FormatException or InvalidOperationException)
        {
            throw new InvalidDataException($"Input '{name}' is int64, but holds {v.ToJsonString()}.");
        }
    }

    private static float Float(JsonNode v, string name)
    {
        try { return v.GetValue<float>(); }
        catch (Exception e) when (e is FormatException or InvalidOperationException)
        {
            throw new InvalidDataException($"Input '{name}' is float, but holds {v.ToJsonString()}.");
        }
    }

    private static JsonNode? Nest(JsonNode?[] flat, int[] dims, int offset = 0, int axis = 0)
    {
        if (dims.Length == 0) return flat[0];
        var arr = new JsonArray();
        int stride = dims.Skip(axis + 1).Aggregate(1, (a, b) => a * b);
        for (int i = 0; i < dims[axis]; i++)
        {
            if (axis == dims.Length - 1) arr.Add(flat[offset + i]);
            else arr.Add(Nest(flat, dims, offset + i * stride, axis + 1));
        }
        return arr;
    }
}
