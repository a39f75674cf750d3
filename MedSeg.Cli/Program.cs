Console.WriteLine("medseg");
