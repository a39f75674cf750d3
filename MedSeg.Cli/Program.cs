using MedSeg.Cli;
using MedSeg.Cli.Commands;

// medseg <command> [options]: one class per command; add train/evaluate/predict/bench by listing them here.
return new CommandDispatcher([new ModelsCommand(), new BenchCommand()]).Run(args, Console.Out, Console.Error);
