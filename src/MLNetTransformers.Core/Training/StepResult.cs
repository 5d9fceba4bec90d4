namespace MLNetTransformers.Core.Training;

/// <summary>What one optimisation step did.</summary>
/// <param name="Step">0-based step.</param>
/// <param name="Loss">Training loss of the step.</param>
/// <param name="GradNorm">Global gradient norm before clipping.</param>
/// <param name="LearningRate">Learning rate used.</param>
public readonly record struct StepResult(long Step, float Loss, float GradNorm, float LearningRate);
