using MedSeg.Cli;
using MedSeg.Cli.Commands;

// medseg <command> [options]: one class per command, listed here.
return new CommandDispatcher([
    new ModelsCommand(),
    new DevicesCommand(),
    new TrainCommand(),
    new EvaluateCommand(),
    new PredictCommand(),
    new ExportCommand(),
    new CheckWeightsCommand(),
    new BenchCommand(),
    new InferenceBenchCommand(),
    new LoaderBenchCommand(),
    new TrainerBenchCommand(),
    new MemoryBenchCommand(),
    new RunExperimentCommand(),
    new RunPredictionCommand(),
]).Run(args, Console.Out, Console.Error);
