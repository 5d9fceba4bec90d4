namespace MLNetTransformers.Core.Training;

/// <summary>What one optimisation step did.</summary>
public readonly record struct StepResult(long Step, float Loss, float GradNorm, float LearningRate);
