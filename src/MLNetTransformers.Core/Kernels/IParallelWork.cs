namespace MLNetTransformers.Core.Kernels;

/// <summary>Work split into numbered, independent pieces; <see cref="Run"/> may be called from any thread.</summary>
internal interface IParallelWork
{
    void Run(int index);
}
