using System.Text.Json;

namespace MLNetTransformers.Core.Tests;

/// <summary>A PyTorch reference fixture: named float64 tensors stored as flat row-major arrays.</summary>
public sealed class TorchFixture
{
    private readonly Dictionary<string, (int[] Shape, double[] Data)> _tensors = new();

    public TorchFixture(string name)
    {
        Name = name;
        string path = Path.Combine(AppContext.BaseDirectory, "Fixtures", "torch", name + ".json");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        foreach (var t in doc.RootElement.GetProperty("tensors").EnumerateObject())
        {
            var shape = t.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            var data = t.Value.GetProperty("data").EnumerateArray().Select(e => e.GetDouble()).ToArray();
            _tensors[t.Name] = (shape, data);
        }
    }

    public string Name { get; }
    public IEnumerable<string> Names => _tensors.Keys;
    public bool Has(string name) => _tensors.ContainsKey(name);
    public int[] Shape(string name) => _tensors[name].Shape;
    public double[] Raw(string name) => _tensors[name].Data;
    public float[] F(string name) => _tensors[name].Data.Select(d => (float)d).ToArray();
    public int[] Ints(string name) => _tensors[name].Data.Select(d => (int)Math.Round(d)).ToArray();
}
